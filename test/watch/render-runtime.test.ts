import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultHead } from "../../src/core/head.ts";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { openRuntimeApi, serversState } from "../../src/haproxy/runtime-api.ts";
import { type DeployFixture, deploySuite, waitUntil } from "../deploy/fixture.ts";
import { startLoad } from "../deploy/load.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { eventually } from "../helpers/wait.ts";

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

/** An app whose tasks listen on 127.0.0.1 at `ports`: each task is one server `127.0.0.1_PORT`. */
const app = (id: string, servicePort: number, ports: number[]) =>
  hostApp(
    id,
    [servicePort],
    ports.map((p) => task({ id: `${id.slice(1)}.${p}`, host: "127.0.0.1", ports: [p] })),
  );

/**
 * The --exec of these tests: notes that it ran, then reloads HAProxy for real (SIGUSR2 to the
 * master, what `systemctl reload haproxy` sends).
 */
const reloadCommand = (execLog: string, masterPid: string) =>
  `sh -c 'echo ran >> "$0" && kill -USR2 "$1"' ${execLog} ${masterPid}`;

const execRuns = (execLog: string) =>
  existsSync(execLog) ? readFileSync(execLog, "utf8").trim().split("\n").length : 0;

const workers = async (fixture: DeployFixture) => (await showProc(fixture.masterSocket))?.workerPids ?? [];

async function answers(port: number, name: string): Promise<boolean> {
  return waitUntil(
    async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `),
    5_000,
  );
}

/** The built-in head with the server state file in the test's folder instead of the system's. */
function headFile(fixture: DeployFixture): string {
  const file = join(fixture.dir, "head.cfg");
  const state = join(fixture.dir, "server-state");
  writeFileSync(file, defaultHead.replace(/server-state-file \S+/, `server-state-file ${state}`));
  return file;
}

/** Renders `apps` once and starts HAProxy (master-worker, master CLI) on it; returns the master pid. */
async function startHaproxyOn(fixture: DeployFixture, apps: unknown, port: number): Promise<string> {
  const file = join(fixture.dir, "first.json");
  writeFileSync(file, JSON.stringify(apps));
  const first = await runMhc(["render", "--from", file, "--stats-port", "0", "--head", headFile(fixture)]);
  expect(first.code, first.stderr).toBe(0);
  const master = fixture.startMasterWorker(first.stdout);
  await waitForPort(port);
  expect(await waitUntil(async () => (await workers(fixture)).length === 1, 5_000)).toBe(true);
  return master;
}

describe.skipIf(!haproxyAvailable())("mhc render -o FILE --watch --exec CMD --runtime-socket SOCKET", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("scale events go over the Runtime API under load (worker pid kept, 0 failed requests, --exec not run), a new app runs --exec and keeps the runtime weights", async () => {
    const fixture = newFixture();
    const [port, other] = [await freePort(), await freePort()];
    const master = await startHaproxyOn(fixture, snapshotOf(app("/web", port, [alpha().port])), port);
    const m = await startEventMarathon(snapshotOf(app("/web", port, [alpha().port])));
    marathons.push(m);
    const execLog = join(fixture.dir, "exec.log");
    const p = startMhc(
      [
        "render",
        "--watch",
        m.url,
        "--stats-port",
        "0",
        "--head",
        headFile(fixture),
        "-o",
        fixture.config,
        "--exec",
        reloadCommand(execLog, master),
        "--runtime-socket",
        fixture.masterSocket,
        "--wait",
        "100ms:500ms",
      ],
      { timeoutMs: 60_000 },
    );
    running.push(p);
    await eventually(() => /unchanged \(1 services\)/.test(p.stderr()), `the first sync\n${p.stderr()}`);
    const before = await workers(fixture);
    const load = startLoad(port, { concurrency: 4, maxMs: 30_000 });

    m.apps = snapshotOf(app("/web", port, [alpha().port, beta().port]));
    m.send("status_update_event", { appId: "/web" });
    await eventually(
      () => p.stderr().includes("applied over the Runtime API (1 added); no reload"),
      `the added task\n${p.stderr()}`,
    );
    expect(await answers(port, "beta")).toBe(true);
    expect(fixture.installed()).toContain(`127.0.0.1:${beta().port}`);

    m.apps = snapshotOf(app("/web", port, [beta().port]));
    m.send("status_update_event", { appId: "/web" });
    await eventually(
      () => p.stderr().includes("applied over the Runtime API (1 removed); no reload"),
      `the removed task\n${p.stderr()}`,
    );
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
    expect(result.answeredBy.beta ?? 0).toBeGreaterThan(0);
    expect(fixture.installed()).not.toContain(`127.0.0.1:${alpha().port}`);
    expect(await workers(fixture)).toEqual(before);
    expect(execRuns(execLog)).toBe(0);

    // A weight set at runtime survives the reload --exec makes: the state is saved before it.
    const api = await openRuntimeApi(fixture.masterSocket);
    const beta0 = `127.0.0.1_${beta().port}`;
    expect(await api.run(`set server web_${port}/${beta0} weight 7`)).toBe("");
    m.apps = snapshotOf(app("/web", port, [beta().port]), app("/api", other, [alpha().port]));
    m.send("deployment_success", {});
    await eventually(() => execRuns(execLog) === 1, `the new app\n${p.stderr()}`);
    expect(p.stderr()).toContain("sections were added, removed or renamed; running sh instead");
    expect(await answers(other, "alpha")).toBe(true);
    expect(await workers(fixture)).not.toEqual(before);
    // The master CLI refuses connections while it re-executes.
    const weight = async () =>
      (await serversState(api, `web_${port}`).catch(() => undefined))?.get(beta0)?.weight;
    expect(await waitUntil(async () => (await weight()) !== undefined, 5_000)).toBe(true);
    expect(await weight()).toBe(7);
  });

  it("runs --exec instead, and says why, when the socket is missing, the Runtime API refuses a change, or the runtime state reads back otherwise", async () => {
    const fixture = newFixture();
    const port = await freePort();
    const master = await startHaproxyOn(fixture, snapshotOf(app("/web", port, [alpha().port])), port);
    const execLog = join(fixture.dir, "exec.log");
    const render = (ports: number[], socket = fixture.masterSocket) => {
      const file = join(fixture.dir, `apps-${ports.join("-")}.json`);
      writeFileSync(file, JSON.stringify(snapshotOf(app("/web", port, ports))));
      return runMhc([
        "render",
        "--from",
        file,
        "--stats-port",
        "0",
        "--head",
        headFile(fixture),
        "-o",
        fixture.config,
        "--exec",
        reloadCommand(execLog, master),
        "--runtime-socket",
        socket,
      ]);
    };
    const reloaded = async (pids: number[]) =>
      waitUntil(async () => {
        const now = await workers(fixture);
        return now.length === 1 && now[0] !== pids[0];
      }, 10_000);
    const backend = `web_${port}`;
    const [a, b] = [`127.0.0.1_${alpha().port}`, `127.0.0.1_${beta().port}`];

    let pids = await workers(fixture);
    const missing = await render([alpha().port, beta().port], join(fixture.dir, "no.sock"));
    expect(missing.code, missing.stderr).toBe(0);
    expect(missing.stderr).toContain(`the Runtime API at ${join(fixture.dir, "no.sock")} does not answer`);
    expect(missing.stderr).toContain("running sh instead");
    expect(execRuns(execLog)).toBe(1);
    expect(await reloaded(pids)).toBe(true);
    expect(await answers(port, "beta")).toBe(true);

    // Beta's server taken out by hand: the candidate adds it again, which HAProxy refuses.
    const api = await openRuntimeApi(fixture.masterSocket);
    const refusedCandidate = [alpha().port];
    expect((await render(refusedCandidate)).stderr).toContain("(1 removed); no reload");
    expect(await api.run(`add server ${backend}/${b} 127.0.0.1:${beta().port}`)).toContain(
      "New server registered",
    );
    pids = await workers(fixture);
    const refused = await render([alpha().port, beta().port]);
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stderr).toContain("the Runtime API refused a change: add server");
    expect(refused.stderr).toContain("Already exists");
    expect(execRuns(execLog)).toBe(2);
    expect(await reloaded(pids)).toBe(true);

    // Alpha's weight set by hand: after adding a server the backend reads back otherwise than the file.
    expect((await render([alpha().port])).stderr).toContain("(1 removed); no reload");
    expect(await api.run(`set server ${backend}/${a} weight 7`)).toBe("");
    pids = await workers(fixture);
    const mismatch = await render([alpha().port, beta().port]);
    expect(mismatch.code, mismatch.stderr).toBe(0);
    expect(mismatch.stderr).toContain(
      `the runtime state differs from the file after applying: ${backend}/${a} has weight 7, the file says 1`,
    );
    expect(execRuns(execLog)).toBe(3);
    expect(await reloaded(pids)).toBe(true);
    expect(await answers(port, "beta")).toBe(true);

    const usage = await runMhc(["render", "127.0.0.1:1", "-o", fixture.config, "--runtime-socket", "x"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("give --exec CMD");
  });
});
