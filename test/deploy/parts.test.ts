import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeParts } from "../../scripts/bench/host.ts";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, git, haproxyConfig, waitUntil } from "./fixture.ts";

const answers = (port: number, name: string) =>
  waitUntil(async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `), 5_000);

const workers = async (fixture: DeployFixture) => (await showProc(fixture.masterSocket))?.workerPids ?? [];

const record = (fixture: DeployFixture) =>
  JSON.parse(readFileSync(`${fixture.config}.mhc-deploy.json`, "utf8"));

describe.skipIf(!haproxyAvailable())("deploy of a config committed in parts (sync --layout parts)", () => {
  const { alpha, beta, newFixture } = deploySuite();

  /** 60 services, all on alpha, in a master-worker HAProxy deployed by mhc from parts. */
  async function deployedInParts() {
    const fixture = newFixture();
    fixture.layout = "parts";
    const mode = ["--master-socket", fixture.masterSocket];
    const ports = await Promise.all(Array.from({ length: 60 }, freePort));
    const config = (serverOf: (i: number) => number) =>
      haproxyConfig(ports.map((port, i) => ({ port, servers: [serverOf(i)] })));
    fixture.commit(config(() => alpha().port));
    const first = await fixture.deploy(mode);
    expect(first.code, first.stderr).toBe(0);
    await waitForPort(ports[30] as number);
    return { fixture, mode, ports, config };
  }

  it("installs the parts joined in index order, byte for byte, and HAProxy serves them", async () => {
    const { fixture, ports, config } = await deployedInParts();
    expect(git(fixture.remote, "ls-tree", "--name-only", "main", "haproxy/")).toBe(
      "haproxy/haproxy.cfg.parts",
    );
    expect(
      Number(git(fixture.remote, "ls-tree", "main", "haproxy/haproxy.cfg.parts/").split("\n").length),
    ).toBeGreaterThan(3);
    expect(fixture.installed()).toBe(config(() => alpha().port));
    expect(await answers(ports[0] as number, "alpha")).toBe(true);
    expect(await answers(ports[59] as number, "alpha")).toBe(true);
  });

  it("a one-server change goes over the Runtime API with no reload, and the installed file is the new commit exactly", async () => {
    const { fixture, mode, ports, config } = await deployedInParts();
    const before = await workers(fixture);
    const moved = config((i) => (i === 30 ? beta().port : alpha().port));
    fixture.commit(moved);
    const changed = await fixture.deploy(mode);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toContain("no reload");
    expect(fixture.installed()).toBe(moved);
    expect(await answers(ports[30] as number, "beta")).toBe(true);
    expect(await workers(fixture)).toEqual(before);
    // Again, from the list of parts the last deploy left in its cache.
    const back = config(() => alpha().port);
    fixture.commit(back);
    expect((await fixture.deploy(mode)).code).toBe(0);
    expect(fixture.installed()).toBe(back);
    expect(record(fixture)).toMatchObject({ applied: "runtime" });
  });

  it("a commit that only moves the config from one file into parts installs nothing and reloads nothing", async () => {
    const { fixture, mode, config } = await deployedInParts();
    fixture.layout = "single";
    fixture.commit(config(() => alpha().port));
    const before = await workers(fixture);
    const same = await fixture.deploy(mode);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toContain("already matches");
    fixture.layout = "parts";
    fixture.commit(config(() => alpha().port));
    expect((await fixture.deploy(mode)).stderr).toContain("already matches");
    expect(await workers(fixture)).toEqual(before);
  });

  it("an installed file of another --path, even of the same length, is never taken for the new commit's parts", async () => {
    const fixture = newFixture();
    const ports = await Promise.all(Array.from({ length: 60 }, freePort));
    const config = (host: string, moved = -1) =>
      haproxyConfig(
        ports.map((port, i) => ({ port, host, servers: [i === moved ? beta().port : alpha().port] })),
      );
    const commitBoth = (dc2: string) => {
      writeFileSync(join(fixture.clone, "dc1.cfg"), config("127.0.0.1"));
      writeParts(join(fixture.clone, "dc2.cfg"), dc2);
      git(fixture.clone, "add", "-A");
      git(fixture.clone, "commit", "--quiet", "-m", "two data centres");
      git(fixture.clone, "push", "--quiet", "origin", "HEAD:refs/heads/main");
    };
    expect(config("127.0.0.1").length).toBe(config("127.0.0.2").length);
    commitBoth(config("127.0.0.2"));
    const mode = ["--reload-cmd", "true"];
    expect((await fixture.deploy(mode, ["--path", "dc1.cfg"])).code).toBe(0);
    expect(fixture.installed()).toBe(config("127.0.0.1"));
    commitBoth(config("127.0.0.2", 7));
    const dc2 = await fixture.deploy(mode, ["--path", "dc2.cfg"]);
    expect(dc2.code, dc2.stderr).toBe(0);
    expect(fixture.installed()).toBe(config("127.0.0.2", 7));
  });

  it("a broken parts folder (its index names a part that is not there) is exit 9, names the folder, and keeps the installed config", async () => {
    const { fixture, mode, config } = await deployedInParts();
    fixture.commit(config((i) => (i === 5 ? beta().port : alpha().port)));
    git(fixture.clone, "rm", "--quiet", `haproxy/haproxy.cfg.parts/${firstPartAfterStart(fixture)}`);
    git(fixture.clone, "commit", "--quiet", "-m", "lose a part");
    git(fixture.clone, "push", "--quiet", "origin", "HEAD:refs/heads/main");
    const broken = await fixture.deploy(mode);
    expect(broken.code).toBe(9);
    expect(broken.stderr).toContain("haproxy/haproxy.cfg.parts is broken");
    expect(fixture.installed()).toBe(config(() => alpha().port));
  });
});

function firstPartAfterStart(fixture: DeployFixture): string {
  const index = readFileSync(`${fixture.clone}/haproxy/haproxy.cfg.parts/index`, "utf8").trim().split("\n");
  return index[1] as string;
}
