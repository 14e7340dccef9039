import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { deploySuite, git, haproxyConfig } from "./fixture.ts";

describe.skipIf(!haproxyAvailable())("how mhc deploy installs a config", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("the new config keeps the installed file's permissions, and so does its backup", async () => {
    const fixture = newFixture();
    const port = await freePort();
    const pidMode = ["--pid-file", fixture.pidFile];
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    chmodSync(fixture.config, 0o640);
    fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
    const result = await fixture.deploy(pidMode);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(fixture.config).mode & 0o777).toBe(0o640);
    expect(statSync(`${fixture.config}.bak`).mode & 0o777).toBe(0o640);
    expect((await httpGet(port)).body).toMatch(/^beta /);
  });

  it("a first deploy whose reload fails has no backup: the new file is removed again (exit 12)", async () => {
    const fixture = newFixture();
    // Valid for haproxy -c, but a host-name bind on a port a backend holds: HAProxy itself cannot start.
    fixture.commit(haproxyConfig([{ port: alpha().port, servers: [beta().port], host: "localhost" }]));
    const result = await fixture.deploy(["--pid-file", fixture.pidFile]);
    expect(result.code, result.stderr).toBe(12);
    expect(existsSync(fixture.config)).toBe(false);
    expect(existsSync(`${fixture.config}.bak`)).toBe(false);
    expect(readdirSync(fixture.etc).filter((name) => name.includes("candidate"))).toEqual([]);
  });

  it("fetches shallowly into a cache that keeps only refs/mhc/deploy", async () => {
    const fixture = newFixture();
    const port = await freePort();
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]), "other");
    const newest = fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
    expect((await fixture.deploy(["--pid-file", fixture.pidFile])).code).toBe(0);
    await waitForPort(port);
    expect(git(fixture.workdir, "rev-parse", "--is-shallow-repository")).toBe("true");
    expect(git(fixture.workdir, "for-each-ref", "--format=%(refname) %(objectname)")).toBe(
      `refs/mhc/deploy ${newest}`,
    );
    expect(git(fixture.workdir, "rev-list", "--count", "--all")).toBe("1");
    expect(readdirSync(join(fixture.workdir))).toContain("mhc-deploy-cache");
  });

  it("a --config whose folder does not exist is exit 8, and nothing is created", async () => {
    const fixture = newFixture();
    fixture.commit(haproxyConfig([{ port: await freePort(), servers: [alpha().port] }]));
    const config = join(fixture.dir, "no-such-etc", "haproxy.cfg");
    const result = await fixture.deploy(["--pid-file", fixture.pidFile], ["--config", config]);
    expect(result.code, result.stderr).toBe(8);
    expect(result.stderr).toContain(join(fixture.dir, "no-such-etc"));
    expect(existsSync(join(fixture.dir, "no-such-etc"))).toBe(false);
  });
});
