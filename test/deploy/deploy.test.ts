import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAlive } from "../../src/io/processes.ts";
import { haproxyAvailable, startHaproxy } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig } from "./fixture.ts";

describe.skipIf(!haproxyAvailable())("mhc deploy with --pid-file (real HAProxy, real git)", () => {
  const { alpha, beta, newFixture } = deploySuite();
  let fixture: DeployFixture;
  const pidMode = () => ["--pid-file", fixture.pidFile];

  it("deploys v1, then v2 with a new service, and refuses an invalid v3 without touching anything", async () => {
    fixture = newFixture();
    const [portA, portB] = [await freePort(), await freePort()];
    const v1 = haproxyConfig([{ port: portA, servers: [alpha().port] }]);
    const commit1 = fixture.commit(v1);

    const first = await fixture.deploy(pidMode());
    expect(first.stderr).toContain("started HAProxy");
    expect(first.code).toBe(0);
    expect(fixture.installed()).toBe(v1);
    await waitForPort(portA);
    expect((await httpGet(portA)).body).toMatch(/^alpha /);

    const v2 = haproxyConfig([
      { port: portA, servers: [alpha().port] },
      { port: portB, servers: [beta().port] },
    ]);
    const commit2 = fixture.commit(v2);
    const second = await fixture.deploy(pidMode());
    expect(second.stderr).toContain("reloaded HAProxy");
    expect(second.code).toBe(0);
    expect(readFileSync(`${fixture.config}.bak`, "utf8")).toBe(v1);
    await waitForPort(portB);
    expect((await httpGet(portB)).body).toMatch(/^beta /);
    expect((await httpGet(portA)).body).toMatch(/^alpha /);

    const status = await fixture.deploy([], ["--status", "--json"]);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed).toMatchObject({ installed: true, matchesRecord: true });
    expect(parsed.record).toMatchObject({
      commit: commit2,
      previousCommit: commit1,
      ref: "main",
      reload: "pid-file",
    });

    const pidsBefore = readFileSync(fixture.pidFile, "utf8");
    const commit3 = fixture.commit(`${v2}\nbackend broken\n  server s0 127.0.0.1:notaport\n`);
    const third = await fixture.deploy(pidMode());
    expect(third.code).toBe(6);
    expect(third.stderr).toContain(commit3.slice(0, 12));
    expect(third.stderr).toContain("[ALERT]");
    expect(third.stderr.trim().split("\n")).toHaveLength(2); // "deploying commit …" and the one error line
    expect(fixture.installed()).toBe(v2);
    expect(readFileSync(fixture.pidFile, "utf8")).toBe(pidsBefore);
    expect((await httpGet(portB)).body).toMatch(/^beta /);
    expect((await httpGet(portA)).body).toMatch(/^alpha /);

    const text = await fixture.deploy([], ["--status"]);
    expect(text.stdout).toContain(`commit:    ${commit2}`);
    expect(text.stdout).toContain("matches the deployed commit");
  });

  it("does nothing on a second run: no reload, no file touched, no output", async () => {
    fixture = newFixture();
    const port = await freePort();
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    expect((await fixture.deploy(pidMode())).code).toBe(0);
    const pids = readFileSync(fixture.pidFile, "utf8");
    const mtime = statSync(fixture.config).mtimeMs;

    const again = await fixture.deploy(pidMode());
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
    expect(readFileSync(fixture.pidFile, "utf8")).toBe(pids);
    expect(statSync(fixture.config).mtimeMs).toBe(mtime);
    expect(existsSync(`${fixture.config}.bak`)).toBe(false);
    expect((await httpGet(port)).body).toMatch(/^alpha /);
  });

  it("restores the previous config and reloads it when the new one cannot start", async () => {
    fixture = newFixture();
    const port = await freePort();
    const good = haproxyConfig([{ port, servers: [alpha().port] }]);
    fixture.commit(good);
    expect((await fixture.deploy(pidMode())).code).toBe(0);

    // Valid for `haproxy -c`, but its port is taken by a backend, so HAProxy cannot bind it (a host
    // name, which the bind pre-flight leaves to HAProxy, so the reload itself fails).
    fixture.commit(
      haproxyConfig([
        { port, servers: [alpha().port] },
        { port: beta().port, servers: [alpha().port], host: "localhost" },
      ]),
    );
    const failed = await fixture.deploy(pidMode());
    expect(failed.code).toBe(12);
    expect(failed.stderr).toContain("restored the previous config and reloaded it");
    expect(fixture.installed()).toBe(good);
    expect((await httpGet(port)).body).toMatch(/^alpha /);
    const status = JSON.parse((await fixture.deploy([], ["--status", "--json"])).stdout);
    expect(status.matchesRecord).toBe(true);
  });

  it("re-creates a corrupt cache instead of trusting it", async () => {
    fixture = newFixture();
    const port = await freePort();
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    expect((await fixture.deploy(pidMode())).code).toBe(0);

    const v2 = haproxyConfig([{ port, servers: [beta().port] }]);
    fixture.commit(v2);
    writeFileSync(join(fixture.workdir, "HEAD"), "garbage\n");
    rmSync(join(fixture.workdir, "objects"), { recursive: true, force: true });
    const result = await fixture.deploy(pidMode());
    expect(result.code).toBe(0);
    expect(fixture.installed()).toBe(v2);
    expect((await httpGet(port)).body).toMatch(/^beta /);

    // Still a bare repository, but every object is garbage: the fetch or the read fails, then it is re-created.
    const v3 = haproxyConfig([{ port, servers: [alpha().port] }]);
    fixture.commit(v3);
    for (const file of readdirSync(join(fixture.workdir, "objects"), { recursive: true, encoding: "utf8" })) {
      const path = join(fixture.workdir, "objects", file);
      if (statSync(path).isFile()) writeFileSync(path, "garbage");
    }
    const again = await fixture.deploy(pidMode(), ["--verbose"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("was broken and has been re-created");
    expect(fixture.installed()).toBe(v3);
  });

  it("refuses a --workdir that is not its own cache, and never deletes it", async () => {
    fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const foreign = join(fixture.dir, "clone");
    const result = await fixture.deploy(pidMode(), ["--workdir", foreign]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain("not an mhc deploy cache");
    expect(existsSync(join(foreign, ".git"))).toBe(true);
    expect(existsSync(fixture.config)).toBe(false);
  });

  it("reports git failures with exit 9 and never prints the password of the repo URL", async () => {
    fixture = newFixture();
    const closedPort = await freePort();
    const result = await fixture.deploy(pidMode(), [
      "--repo",
      `http://deployer:s3cr3t-pw@127.0.0.1:${closedPort}/x.git`,
    ]);
    expect(result.code).toBe(9);
    expect(result.stderr).not.toContain("s3cr3t-pw");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    // A missing ref or --path: test/deploy/record.test.ts.
  });

  it("refuses bad usage with exit 2: one line, then where the help is", async () => {
    fixture = newFixture();
    for (const args of [
      [],
      ["--pid-file", fixture.pidFile, "--master-socket", fixture.masterSocket],
      ["--reload-cmd", "systemctl 'reload haproxy"],
      ["--pid-file", fixture.pidFile, "--ref", "--upload-pack=x"],
    ]) {
      const result = await fixture.deploy(args);
      expect(result.code, args.join(" ")).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines, args.join(" ")).toHaveLength(2);
      expect(lines[1]).toBe('mhc: see "mhc deploy --help"');
    }
  });

  it("exits 7 when the HAProxy binary is missing, leaving nothing installed", async () => {
    fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const result = await fixture.deploy(pidMode(), ["--haproxy", join(fixture.dir, "no-haproxy")]);
    expect(result.code).toBe(7);
    expect(existsSync(fixture.config)).toBe(false);
  });

  it("a stale --pid-file never signals an unrelated process", async () => {
    fixture = newFixture();
    const port = await freePort();
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    // A process whose command line mentions haproxy, under the pid the file names.
    const log = join(fixture.dir, "haproxy.log");
    writeFileSync(log, "");
    const tail = spawn("tail", ["-f", log], { stdio: "ignore" });
    try {
      writeFileSync(fixture.pidFile, `${tail.pid}\n`);
      const result = await fixture.deploy(pidMode());
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("started HAProxy");
      expect(tail.exitCode).toBe(null);
      expect(isAlive(tail.pid as number)).toBe(true);
      expect((await httpGet(port)).body).toMatch(/^alpha /);
      await fixture.stopHaproxy();

      // An HAProxy, but one that started after the pid file was written: not the file's owner.
      const otherPort = await freePort();
      const otherConfig = join(fixture.dir, "other.cfg");
      writeFileSync(otherConfig, haproxyConfig([{ port: otherPort, servers: [beta().port] }]));
      const other = await startHaproxy(otherConfig, otherPort);
      try {
        writeFileSync(fixture.pidFile, `${other.process.pid}\n`);
        utimesSync(fixture.pidFile, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
        fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
        const second = await fixture.deploy(pidMode());
        expect(second.code, second.stderr).toBe(0);
        expect(second.stderr).toContain("started HAProxy");
        expect(other.process.exitCode).toBe(null);
        expect(isAlive(other.process.pid as number)).toBe(true);
      } finally {
        await other.stop();
      }
    } finally {
      tail.kill();
    }
  });
});
