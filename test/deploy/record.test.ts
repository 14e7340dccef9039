import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { deploySuite, git, haproxyConfig } from "./fixture.ts";

const record = (config: string) => JSON.parse(readFileSync(`${config}.mhc-deploy.json`, "utf8"));

describe.skipIf(!haproxyAvailable())("what mhc deploy records and fetches", () => {
  const { alpha, newFixture } = deploySuite();

  it("the same content from a newer commit updates the record and does not reload", async () => {
    const fixture = newFixture();
    const port = await freePort();
    const first = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    const pidMode = ["--pid-file", fixture.pidFile];
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    await waitForPort(port);
    const pids = readFileSync(fixture.pidFile, "utf8");
    const mtime = statSync(fixture.config).mtimeMs;

    const newer = fixture.commit(fixture.installed()); // an empty commit: same file, new id
    expect(newer).not.toBe(first);
    const result = await fixture.deploy(pidMode);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("recorded it without reloading");
    expect(record(fixture.config)).toMatchObject({ commit: newer });
    expect(readFileSync(fixture.pidFile, "utf8")).toBe(pids);
    expect(statSync(fixture.config).mtimeMs).toBe(mtime);
    expect((await httpGet(port)).body).toMatch(/^alpha /);
  });

  it("a ref that does not exist, or a --path not in that commit, is exit 9 and installs nothing", async () => {
    const fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const pidMode = ["--pid-file", fixture.pidFile];
    const noRef = await fixture.deploy(pidMode, ["--ref", "no-such-branch"]);
    expect(noRef.code, noRef.stderr).toBe(9);
    expect(noRef.stderr).toContain("no-such-branch");
    const noPath = await fixture.deploy(pidMode, ["--path", "lb/missing.cfg"]);
    expect(noPath.code, noPath.stderr).toBe(9);
    expect(noPath.stderr).toContain("lb/missing.cfg does not exist");
    // Only the run statistics every run keeps (see Metrics): no config, backup or record.
    expect(readdirSync(fixture.etc)).toEqual(["haproxy.cfg.mhc-deploy-stats.json"]);
  });

  it("two configs deployed from one repository never share a cache", async () => {
    const fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const xdg = join(fixture.dir, "xdg");
    for (const config of ["a.cfg", "b.cfg"]) {
      const result = await runMhc(
        ["deploy", "--repo", fixture.remote, "--config", join(fixture.etc, config), "--reload-cmd", "true"],
        { env: { XDG_CACHE_HOME: xdg } },
      );
      expect(result.code, result.stderr).toBe(0);
    }
    const caches = readdirSync(join(xdg, "mhc", "deploy")).filter((name) => !name.endsWith(".lock"));
    expect(caches).toHaveLength(2);
    for (const cache of caches)
      expect(git(join(xdg, "mhc", "deploy", cache), "rev-parse", "--is-bare-repository")).toBe("true");
  });
});
