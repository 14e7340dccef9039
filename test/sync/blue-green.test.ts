import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, message, tempDir } from "../helpers/git.ts";

/** A zdd deployment, one sync per step into a real bare remote: what `git log` tells a reviewer. */

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };

const colour = (
  name: "green" | "blue",
  startedAt: string,
  hosts: string[],
  healthy = hosts.length,
  target = "2",
) =>
  hostApp(
    `/shop-${name}`,
    [name === "green" ? 10000 : 10001],
    hosts.map((host, i) => task({ id: `shop-${name}.${i + 1}`, host, ports: [31000], alive: [i < healthy] })),
    {
      labels: {
        HAPROXY_DEPLOYMENT_GROUP: "shop",
        HAPROXY_DEPLOYMENT_ALT_PORT: "10001",
        HAPROXY_0_PORT: "10000",
        HAPROXY_DEPLOYMENT_COLOUR: name,
        HAPROXY_DEPLOYMENT_STARTED_AT: startedAt,
        HAPROXY_DEPLOYMENT_TARGET_INSTANCES: target,
      },
      healthChecks: [{ protocol: "HTTP", path: "/", portIndex: 0 }],
    },
  );

async function sync(remote: string, apps: Record<string, unknown>[]): Promise<string> {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(snapshotOf(...apps)));
  const result = await runMhc(["sync", "--from", file, "--repo", remote], { env });
  expect(result.code, result.stderr).toBe(0);
  return message(remote);
}

describe("blue/green in the commit log", () => {
  it("the old colour's draining servers leave without tripping --max-drop", async () => {
    const remote = bareRepo();
    const green = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const blue = colour("blue", "2026-01-01T11:00:00", ["10.0.1.1", "10.0.1.2", "10.0.1.3"], 3, "3");
    await sync(remote, [colour("green", "2026-01-01T10:00:00", green, 4, "3")]);
    const drained = await sync(remote, [colour("green", "2026-01-01T10:00:00", green, 4, "3"), blue]);
    expect(drained.split("\n")[0]).toBe("haproxy: blue/green /shop: 3 new, 3 draining");
    // The old colour is deleted: 4 of 7 servers go (57%), but only one of them still took traffic.
    const done = await sync(remote, [blue]);
    expect(done.split("\n")[0]).toBe("haproxy: blue/green /shop: 3 new, 0 draining");
  });

  it('says "blue/green /shop: N new, M draining" at each step of a deployment', async () => {
    const remote = bareRepo();
    const green = ["10.0.0.1", "10.0.0.2"];
    await sync(remote, [colour("green", "2026-01-01T10:00:00", green)]);
    const started = await sync(remote, [
      colour("green", "2026-01-01T10:00:00", green),
      colour("blue", "2026-01-01T11:00:00", ["10.0.1.1"]),
    ]);
    expect(started.split("\n")[0]).toBe("haproxy: blue/green /shop: 1 new, 1 draining");
    expect(started).toContain("    + 10.0.1.1:31000\n");
    expect(started).toContain("    blue/green /shop: 1 new, 1 draining\n");
    const complete = await sync(remote, [
      colour("green", "2026-01-01T10:00:00", green),
      colour("blue", "2026-01-01T11:00:00", ["10.0.1.1", "10.0.1.2"]),
    ]);
    expect(complete.split("\n")[0]).toBe("haproxy: blue/green /shop: 2 new, 2 draining");
    const done = await sync(remote, [colour("blue", "2026-01-01T11:00:00", ["10.0.1.1", "10.0.1.2"])]);
    expect(done.split("\n")[0]).toBe("haproxy: blue/green /shop: 2 new, 0 draining");
    expect(done).toContain("    - 10.0.0.1:31000\n");
  });
});
