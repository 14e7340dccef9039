import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, message, tempDir } from "../helpers/git.ts";

/** A zdd deployment, one sync per step into a real bare remote: what `git log` tells a reviewer. */

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };

const colour = (name: "green" | "blue", startedAt: string, hosts: string[], healthy = hosts.length) =>
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
        HAPROXY_DEPLOYMENT_TARGET_INSTANCES: "2",
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
