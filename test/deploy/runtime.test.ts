import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { openRuntimeApi, serversState } from "../../src/haproxy/runtime-api.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig, waitUntil } from "./fixture.ts";
import { startLoad } from "./load.ts";

async function answers(port: number, name: string): Promise<boolean> {
  return waitUntil(
    async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `),
    5_000,
  );
}

const record = (fixture: DeployFixture) =>
  JSON.parse(readFileSync(`${fixture.config}.mhc-deploy.json`, "utf8"));

const workers = async (fixture: DeployFixture) => (await showProc(fixture.masterSocket))?.workerPids ?? [];

/** A client connection through HAProxy that stays open: one session on the server it reached. */
function holdSession(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.on("error", reject);
  });
}

describe.skipIf(!haproxyAvailable())("deploy applies server-only changes over the Runtime API", () => {
  const { alpha, beta, newFixture } = deploySuite();

  /** A master-worker HAProxy serving one backend with alpha as s0, deployed by mhc. */
  async function deployedWithAlpha() {
    const fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const port = await freePort();
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    expect((await fixture.deploy(mode)).code).toBe(0);
    await waitForPort(port);
    return { fixture, mode, port };
  }

  it("a one-server change keeps the worker pid (0 reloads), answers from the new server at once, and drains a removed one without failed requests", async () => {
    const { fixture, mode, port } = await deployedWithAlpha();
    const before = await workers(fixture);
    const load = startLoad(port, { concurrency: 4, maxMs: 30_000 });

    const both = haproxyConfig([{ port, servers: [alpha().port, beta().port] }]);
    fixture.commit(both);
    const added = await fixture.deploy(mode);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain("over the Runtime API (1 added); no reload");
    expect(await answers(port, "beta")).toBe(true);
    expect(fixture.installed()).toBe(both);
    expect(record(fixture)).toMatchObject({
      applied: "runtime",
      appliedBecause: "only servers changed (1 added)",
    });

    const betaOnly = haproxyConfig([{ port, servers: [beta().port] }]).replace(" s1 ", " s0 ");
    // s0 moves from alpha to beta and s1 goes: a move and a removal.
    fixture.commit(betaOnly);
    const moved = await fixture.deploy(mode);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toContain("(1 removed, 1 moved); no reload");
    const afterMove = load.result.answeredBy.alpha ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    const result = await load.stop();
    expect(result.answeredBy.alpha ?? 0).toBe(afterMove);
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
    expect(await workers(fixture)).toEqual(before);
    expect((await showProc(fixture.masterSocket))?.failedReloads).toBe(0);

    const status = await fixture.deploy(mode, ["--status", "--json"]);
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: "current",
      record: { applied: "runtime" },
      haproxy: { loadedInstalled: true },
    });
    expect((await fixture.deploy(mode, ["--status"])).stdout).toContain(
      "applied:   runtime: only servers changed",
    );
  });

  it("reloads when the change is more than servers, with --no-runtime, and when the Runtime API refuses a change", async () => {
    const fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const [portA, portB] = [await freePort(), await freePort()];
    fixture.commit(haproxyConfig([{ port: portA, servers: [alpha().port] }]));
    expect((await fixture.deploy(mode)).code).toBe(0);
    await waitForPort(portA);

    fixture.commit(
      haproxyConfig([
        { port: portA, servers: [alpha().port] },
        { port: portB, servers: [beta().port] },
      ]),
    );
    const frontend = await fixture.deploy(mode);
    expect(frontend.code, frontend.stderr).toBe(0);
    expect(frontend.stderr).toContain("new worker");
    expect(record(fixture)).toMatchObject({
      applied: "reload",
      appliedBecause: "sections were added, removed or renamed",
    });
    expect(await answers(portB, "beta")).toBe(true);

    let pids = await workers(fixture);
    fixture.commit(
      haproxyConfig([
        { port: portA, servers: [alpha().port, beta().port] },
        { port: portB, servers: [beta().port] },
      ]),
    );
    const off = await fixture.deploy(mode, ["--no-runtime"]);
    expect(off.code, off.stderr).toBe(0);
    expect(record(fixture)).toMatchObject({ applied: "reload", appliedBecause: "--no-runtime" });
    expect(await workers(fixture)).not.toEqual(pids);

    // HAProxy accepts `balance static-rr` in a config but refuses servers added to it at runtime.
    const hashed = (servers: number[]) =>
      haproxyConfig([
        { port: portA, servers: [alpha().port] },
        { port: portB, servers },
      ]).replace(`\nbackend be_${portB}\n`, `\nbackend be_${portB}\n  balance static-rr\n`);
    fixture.commit(hashed([beta().port]));
    expect((await fixture.deploy(mode)).code).toBe(0);
    pids = await workers(fixture);
    fixture.commit(hashed([beta().port, alpha().port]));
    const refused = await fixture.deploy(mode);
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stderr).toContain("the Runtime API refused a change: add server");
    expect(refused.stderr).toContain("reloading instead");
    expect(record(fixture).applied).toBe("reload");
    expect(await workers(fixture)).not.toEqual(pids);
    expect(await answers(portB, "alpha")).toBe(true);
  });

  it("reloads when the runtime state reads back otherwise than the file after applying (a server re-weighted by hand), and says so in the record and --status", async () => {
    const { fixture, mode, port } = await deployedWithAlpha();
    // Behind mhc's back: s0 runs at weight 7 while the file says 1. Adding s1 goes through, and the
    // read-back of the backend finds the difference.
    const api = await openRuntimeApi(fixture.masterSocket);
    expect(await api.run(`set server be_${port}/s0 weight 7`)).toBe("");
    const pids = await workers(fixture);
    const both = haproxyConfig([{ port, servers: [alpha().port, beta().port] }]);
    fixture.commit(both);
    const deployed = await fixture.deploy(mode);
    expect(deployed.code, deployed.stderr).toBe(0);
    const why = `the runtime state differs from the file after applying: be_${port}/s0 has weight 7, the file says 1`;
    expect(deployed.stderr).toContain(`${why}; reloading instead`);
    expect(record(fixture)).toMatchObject({ applied: "reload", appliedBecause: why });
    expect(await workers(fixture)).not.toEqual(pids);
    expect(fixture.installed()).toBe(both);
    expect(await answers(port, "beta")).toBe(true);
    const status = await fixture.deploy(mode, ["--status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ record: { applied: "reload", appliedBecause: why } });
    expect((await fixture.deploy(mode, ["--status"])).stdout).toContain(`applied:   reload: ${why}`);
  });

  it("a run stopped after its runtime changes but before the install is completed by a reload on the next run", async () => {
    const { fixture, mode, port } = await deployedWithAlpha();
    // What the stopped run had done: the new server added at runtime, the file not yet installed.
    const api = await openRuntimeApi(fixture.masterSocket);
    expect(await api.run(`add server be_${port}/s1 127.0.0.1:${beta().port}`)).toContain(
      "New server registered",
    );
    const both = haproxyConfig([{ port, servers: [alpha().port, beta().port] }]);
    fixture.commit(both);
    const next = await fixture.deploy(mode);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain("Already exists");
    expect(next.stderr).toContain("reloading instead");
    expect(record(fixture)).toMatchObject({ applied: "reload" });
    expect(fixture.installed()).toBe(both);
    expect(await answers(port, "beta")).toBe(true);
  });

  it("a runtime deploy after a record from an older mhc (no reloadedAt) still reports HAProxy as current", async () => {
    const { fixture, mode, port } = await deployedWithAlpha();
    const { applied: _a, appliedBecause: _b, reloadedAt: _r, ...older } = record(fixture);
    writeFileSync(`${fixture.config}.mhc-deploy.json`, JSON.stringify(older));
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }]));
    const runtime = await fixture.deploy(mode);
    expect(runtime.stderr).toContain("no reload");
    const status = await fixture.deploy(mode, ["--status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: "current", haproxy: { loadedInstalled: true } });
  });

  it("reloads when the config's admin stats socket is missing, and uses it when it is there", async () => {
    const fixture = newFixture();
    const mode = ["--pid-file", fixture.pidFile];
    const port = await freePort();
    const socket = `${fixture.dir}/admin.sock`;
    const config = (servers: number[]) =>
      haproxyConfig([{ port, servers }], [`stats socket ${socket} mode 600 level admin`]);
    fixture.commit(config([alpha().port]));
    expect((await fixture.deploy(mode)).code).toBe(0);
    await waitForPort(port);
    const pid = readFileSync(fixture.pidFile, "utf8").trim();

    fixture.commit(config([alpha().port, beta().port]));
    const runtime = await fixture.deploy(mode);
    expect(runtime.code, runtime.stderr).toBe(0);
    expect(runtime.stderr).toContain("no reload");
    expect(readFileSync(fixture.pidFile, "utf8").trim()).toBe(pid);
    expect(await answers(port, "beta")).toBe(true);

    rmSync(socket);
    fixture.commit(config([beta().port]));
    const missing = await fixture.deploy(mode);
    expect(missing.code, missing.stderr).toBe(0);
    expect(missing.stderr).toContain(`the Runtime API at ${socket} does not answer`);
    expect(record(fixture)).toMatchObject({ applied: "reload" });
    expect(readFileSync(fixture.pidFile, "utf8").trim()).not.toBe(pid);
    expect(await answers(port, "beta")).toBe(true);
  });

  it("a removed server with an open session is drained: new requests go elsewhere, it goes once the session ends, or is cut after --drain-timeout", async () => {
    const { fixture, mode, port } = await deployedWithAlpha();
    fixture.commit(
      haproxyConfig([{ port, servers: [alpha().port, beta().port] }])
        .replace(" s0 ", " sa ")
        .replace(" s1 ", " sb "),
    );
    expect((await fixture.deploy(mode)).code).toBe(0);

    // Round robin: of two fresh connections one reaches alpha.
    const held = [await holdSession(port), await holdSession(port)];
    const betaOnly = haproxyConfig([{ port, servers: [beta().port] }]).replace(" s0 ", " sb ");
    fixture.commit(betaOnly);
    const started = Date.now();
    const draining = fixture.startDeploy(mode, ["--drain-timeout", "30s"]);
    const api = await openRuntimeApi(fixture.masterSocket);
    expect(
      await waitUntil(
        async () => ((await serversState(api, `be_${port}`)).get("sa")?.adminState ?? 0) === 8,
        10_000,
      ),
    ).toBe(true);
    for (let i = 0; i < 5; i++) expect((await httpGet(port)).body).toMatch(/^beta /);
    for (const socket of held) socket.destroy();
    const done = await draining.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect([...(await serversState(api, `be_${port}`)).keys()]).toEqual(["sb"]);

    fixture.commit(
      haproxyConfig([{ port, servers: [alpha().port, beta().port] }])
        .replace(" s0 ", " sa ")
        .replace(" s1 ", " sb "),
    );
    expect((await fixture.deploy(mode)).code).toBe(0);
    const stuck = [await holdSession(port), await holdSession(port)];
    const closed = stuck.map((socket) => new Promise<void>((resolve) => socket.on("close", () => resolve())));
    fixture.commit(betaOnly);
    const cut = await fixture.deploy(mode, ["--drain-timeout", "1s"]);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toContain("still had sessions after the drain timeout; cut them");
    await Promise.race([Promise.any(closed), new Promise((r) => setTimeout(r, 5_000))]);
    expect(stuck.some((socket) => socket.destroyed || socket.readableEnded)).toBe(true);
    expect([...(await serversState(api, `be_${port}`)).keys()]).toEqual(["sb"]);
    for (const socket of stuck) socket.destroy();
  });

  it("a reload after runtime changes keeps health, weight and maintenance (server state file), but not the port of a server the file moved", async () => {
    const fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
    const checked = (frontends: Parameters<typeof haproxyConfig>[0]) =>
      haproxyConfig(frontends).replace(/(server s\d+ \S+)/g, "$1 check inter 30s");
    const services = [
      { port: portA, servers: [alpha().port, beta().port] },
      { port: portC, servers: [alpha().port] },
    ];
    fixture.commit(checked(services));
    expect((await fixture.deploy(mode)).code).toBe(0);
    await waitForPort(portA);
    const api = await openRuntimeApi(fixture.masterSocket);
    expect(await api.run(`set server be_${portA}/s0 health down`)).toBe("");
    expect(await api.run(`set server be_${portA}/s1 weight 7`)).toBe("");

    // A new frontend (a reload), and be_C's s0 moves from alpha to beta under the same name.
    const moved = [
      services[0],
      { port: portC, servers: [beta().port] },
      { port: portB, servers: [beta().port] },
    ];
    fixture.commit(checked(moved as Parameters<typeof haproxyConfig>[0]));
    const pids = await workers(fixture);
    const reloaded = await fixture.deploy(mode);
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(await workers(fixture)).not.toEqual(pids);
    // Without the saved state the new worker would start s0 up and s1 at weight 1.
    const raw = await api.run(`show servers state be_${portA}`);
    expect(
      raw
        .split("\n")
        .find((l) => / s0 /.test(l))
        ?.split(" ")[5],
    ).toBe("0");
    expect((await serversState(api, `be_${portA}`)).get("s1")?.weight).toBe(7);
    expect(await answers(portA, "beta")).toBe(true);
    // HAProxy 2.6 would take s0's old port from the saved state: mhc leaves moved servers out of it.
    expect(await answers(portC, "beta")).toBe(true);
  });
});
