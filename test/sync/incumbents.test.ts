import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, fileAt, message, tempDir } from "../helpers/git.ts";

/** #9.12: an existing service keeps its port; the owner comes from what is published. */

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };
const path = "haproxy/haproxy.cfg";

function snapshotFile(apps: Record<string, unknown>[]): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(snapshotOf(...apps)));
  return file;
}

const incumbent = hostApp("/zeta/shop", [10000], [task({ host: "10.0.0.1", ports: [31000] })]);
/** Sorts before the incumbent and claims its service port. */
const newcomer = hostApp("/alpha/grab", [10050], [task({ host: "10.0.9.9", ports: [31999] })], {
  labels: { HAPROXY_0_PORT: "10000" },
});

describe("a newcomer cannot take an incumbent's port", () => {
  it("sync: the published owner keeps the bind; the newcomer is dropped, and the commit says why", async () => {
    const remote = bareRepo();
    await runMhc(["sync", "--from", snapshotFile([incumbent]), "--repo", remote], { env });
    const result = await runMhc(["sync", "--from", snapshotFile([incumbent, newcomer]), "--repo", remote], {
      env,
    });
    expect(result.code).toBe(0);
    const config = fileAt(remote, "main", path) as string;
    expect(config).toContain("backend zeta_shop_10000");
    expect(config).not.toContain("alpha_grab");
    // Nothing in the config changed: no commit, the incumbent stays.
    expect(result.stderr).toContain("no change");
    // The next change of the config names the drop.
    const scaled = hostApp(
      "/zeta/shop",
      [10000],
      ["10.0.0.1", "10.0.0.2"].map((host) => task({ host, ports: [31000] })),
    );
    const third = await runMhc(["sync", "--from", snapshotFile([scaled, newcomer]), "--repo", remote], {
      env,
    });
    expect(third.code).toBe(0);
    expect(message(remote).split("\n")[0]).toBe("haproxy: /zeta/shop +1 server, dropped /alpha/grab");
    expect(message(remote)).toContain(
      "\ndropped /alpha/grab: *:10000 is already bound by app /zeta/shop port index 0, which holds it in the published config\n",
    );
  });

  it("render -o: the owner in the existing file keeps the bind", async () => {
    const dir = tempDir();
    const out = join(dir, "haproxy.cfg");
    expect((await runMhc(["render", "--from", snapshotFile([incumbent]), "-o", out])).code).toBe(0);
    const result = await runMhc(["render", "--from", snapshotFile([incumbent, newcomer]), "-o", out]);
    expect(result.code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("backend zeta_shop_10000");
    expect(readFileSync(out, "utf8")).not.toContain("alpha_grab");
    // Without an existing file the first app in id order wins, as before.
    const fresh = (await runMhc(["render", "--from", snapshotFile([incumbent, newcomer])])).stdout;
    expect(fresh).toContain("alpha_grab");
  });
});
