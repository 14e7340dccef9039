import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { deploySuite, haproxyConfig } from "./fixture.ts";

const statusKeys = [
  "backup",
  "config",
  "exitCode",
  "failed",
  "haproxy",
  "installed",
  "matchesRecord",
  "message",
  "metrics",
  "pendingCommit",
  "record",
  "remote",
  "schema",
  "sha256",
  "state",
];

describe.skipIf(!haproxyAvailable())("deploy --status tells the truth", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("exit 1 when never installed, 0 when current, 1 when behind (with the count), 12 when HAProxy is not running; schema 1 with stable keys", async () => {
    const fixture = newFixture();
    const pidMode = ["--pid-file", fixture.pidFile];
    const never = await fixture.deploy([], ["--status", "--json"]);
    expect(never.code).toBe(1);
    const empty = JSON.parse(never.stdout);
    expect(Object.keys(empty).sort()).toEqual(statusKeys);
    expect(empty).toMatchObject({
      schema: 1,
      state: "not-installed",
      installed: false,
      sha256: null,
      record: null,
      remote: null,
      failed: null,
      pendingCommit: null,
      haproxy: { running: null, pids: [], configs: [], startedAt: null, loadedInstalled: null },
    });
    expect((await fixture.deploy([], ["--status"])).stdout).toContain("not-installed");

    const port = await freePort();
    const deployed = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    await waitForPort(port);
    const current = await fixture.deploy([], ["--status", "--json", "--repo", fixture.remote]);
    expect(current.code, current.stdout).toBe(0);
    const parsed = JSON.parse(current.stdout);
    expect(Object.keys(parsed).sort()).toEqual(statusKeys);
    expect(parsed).toMatchObject({
      state: "current",
      remote: { ref: "main", commit: deployed, behind: 0 },
      haproxy: { running: true, configs: [fixture.config], loadedInstalled: true },
    });

    fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
    const newest = fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }]));
    const behind = await fixture.deploy([], ["--status", "--json", "--repo", fixture.remote]);
    expect(behind.code).toBe(1);
    expect(JSON.parse(behind.stdout)).toMatchObject({
      state: "behind",
      remote: { commit: newest, behind: 2 },
      record: { commit: deployed },
    });
    const text = await fixture.deploy([], ["--status", "--repo", fixture.remote]);
    expect(text.stdout).toContain("2 commit(s) behind main");

    await fixture.stopHaproxy();
    const down = await fixture.deploy([], ["--status", "--json"]);
    expect(down.code).toBe(12);
    expect(JSON.parse(down.stdout)).toMatchObject({ state: "not-running", haproxy: { running: false } });
  });

  it("a symlinked --config stays a symlink, also on rollback", async () => {
    const fixture = newFixture();
    const real = join(fixture.dir, "shared", "haproxy.cfg");
    mkdirSync(join(fixture.dir, "shared"));
    const port = await freePort();
    const v1 = haproxyConfig([{ port, servers: [alpha().port] }]);
    writeFileSync(real, v1);
    symlinkSync(real, fixture.config);
    const pidMode = ["--pid-file", fixture.pidFile];
    fixture.commit(v1);
    expect((await fixture.deploy(pidMode)).code).toBe(0);

    const v2 = haproxyConfig([{ port, servers: [beta().port] }]);
    fixture.commit(v2);
    const second = await fixture.deploy(pidMode);
    expect(second.code, second.stderr).toBe(0);
    expect(lstatSync(fixture.config).isSymbolicLink()).toBe(true);
    expect(readlinkSync(fixture.config)).toBe(real);
    expect(readFileSync(real, "utf8")).toBe(v2);
    expect((await httpGet(port)).body).toMatch(/^beta /);

    // Passes `haproxy -c`, fails at the reload (its port is taken): rolled back through the link.
    fixture.commit(
      haproxyConfig([
        { port, servers: [alpha().port] },
        { port: alpha().port, servers: [], host: "localhost" },
      ]),
    );
    const failed = await fixture.deploy(pidMode);
    expect(failed.code).toBe(12);
    expect(failed.stderr).toContain("restored the previous config and reloaded it");
    expect(lstatSync(fixture.config).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toBe(v2);
    expect((await httpGet(port)).body).toMatch(/^beta /);
  });

  it("deploy --config refuses a device or fifo (exit 8) and leaves it alone", async () => {
    const fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const fifo = join(fixture.etc, "fifo.cfg");
    spawnSync("mkfifo", [fifo]);
    const result = await fixture.deploy(["--pid-file", fixture.pidFile], ["--config", fifo]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain("is not a regular file");
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});

describe.skipIf(!haproxyAvailable())("deploy --status: the states between installed and current", () => {
  const { alpha, newFixture } = deploySuite();

  it("a config mhc did not install is not-by-mhc; one edited since the deploy is modified; both exit 1", async () => {
    const fixture = newFixture();
    const config = haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]);
    writeFileSync(fixture.config, config);
    const byHand = await fixture.deploy([], ["--status", "--json"]);
    expect(byHand.code).toBe(1);
    expect(JSON.parse(byHand.stdout)).toMatchObject({ state: "not-by-mhc", installed: true, record: null });

    rmSync(fixture.config);
    fixture.commit(config);
    // A reload command gives --status no HAProxy to look at, so only the file decides.
    expect((await fixture.deploy(["--reload-cmd", "true"])).code).toBe(0);
    expect((await fixture.deploy([], ["--status"])).code).toBe(0);
    writeFileSync(fixture.config, `${config}# edited by hand\n`);
    const edited = await fixture.deploy([], ["--status", "--json"]);
    expect(edited.code).toBe(1);
    expect(JSON.parse(edited.stdout)).toMatchObject({
      state: "modified",
      matchesRecord: false,
      // --reload-cmd cannot tell which HAProxy runs: those fields are null.
      haproxy: { running: null, pids: [], configs: [], startedAt: null, loadedInstalled: null },
    });
    expect((await fixture.deploy([], ["--status"])).stdout).toContain("MODIFIED since the deploy");
  });

  it("a file written after HAProxy started is not-loaded (exit 1), even with the recorded bytes", async () => {
    const fixture = newFixture();
    const port = await freePort();
    const config = haproxyConfig([{ port, servers: [alpha().port] }]);
    fixture.commit(config);
    const pidMode = ["--pid-file", fixture.pidFile];
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    await waitForPort(port);
    expect((await fixture.deploy(pidMode, ["--status"])).code).toBe(0);

    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(fixture.config, config);
    const rewritten = await fixture.deploy(pidMode, ["--status", "--json"]);
    expect(rewritten.code).toBe(1);
    expect(JSON.parse(rewritten.stdout)).toMatchObject({
      state: "not-loaded",
      matchesRecord: true,
      haproxy: { running: true, loadedInstalled: false },
    });
  });
});
