import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ClusterEvent, SimulatedCluster } from "../../scripts/bench/cluster.ts";
import { generateSnapshot } from "../../scripts/bench/generate.ts";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { render } from "../../src/core/render.ts";
import { parseSnapshot } from "../../src/core/snapshot.ts";
import { type RunningMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { bareRepo, commits, fileAt, message, tempDir } from "../helpers/git.ts";
import { eventually, sleep } from "../helpers/wait.ts";

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

const fullRender = (cluster: SimulatedCluster) =>
  render(
    normalise(parseSnapshot(JSON.stringify(cluster.snapshot), "cluster"), defaultRenderOptions),
    defaultRenderOptions,
  );
const serviceNames = (cluster: SimulatedCluster, index: number) =>
  normalise(parseSnapshot(JSON.stringify(cluster.snapshot), "cluster"), defaultRenderOptions)
    .services.filter((s) => s.appId === cluster.app(index).id)
    .map((s) => s.name);
const fullReads = (m: EventMarathon) => m.requests.filter((r) => r.path.includes("embed=apps.tasks")).length;
const appReads = (m: EventMarathon) => m.requests.filter((r) => r.path.includes("embed=app.tasks")).length;

/** mhc render --watch -o FILE against a simulated cluster behind a real local event stream. */
async function watching(extra: string[] = []) {
  const cluster = new SimulatedCluster(generateSnapshot({ apps: 30, tasksPerApp: 3, seed: 14 }), 14);
  const m = await startEventMarathon(cluster.snapshot);
  marathons.push(m);
  const dir = tempDir("mhc-incremental-");
  const out = join(dir, "haproxy.cfg");
  const statusFile = join(dir, "status.json");
  const p = startMhc(
    ["render", "--watch", m.url, "-o", out, "--wait", "100ms:1s", "--status-file", statusFile, ...extra],
    { timeoutMs: 60_000 },
  );
  running.push(p);
  await eventually(() => existsSync(out) && m.openStreams() === 1, `the first write\n${p.stderr()}`);
  const send = (events: ClusterEvent[]) => {
    for (const event of events) m.send(event.type, event.data);
  };
  const file = () => readFileSync(out, "utf8");
  const status = () => JSON.parse(readFileSync(statusFile, "utf8"));
  return { cluster, m, p, send, file, status };
}

describe("mhc watch, incremental", () => {
  it("applies task starts, kills and health changes from the events, without reading every app again", async () => {
    const w = await watching();
    const burst: ClusterEvent[] = [];
    for (let i = 0; i < 10; i++) burst.push(...w.cluster.startTask(i), ...w.cluster.killTask(i + 10));
    burst.push(...w.cluster.toggleHealth(25));
    w.send(burst);
    await eventually(() => w.file() === fullRender(w.cluster), `the incremental write\n${w.p.stderr()}`);
    await eventually(() => w.status().syncs >= 2, "the status of the sync");
    expect(fullReads(w.m)).toBe(1);
    expect(appReads(w.m)).toBe(0);
    expect(w.status()).toMatchObject({ incremental: true, fullReads: 1, divergences: 0 });
  });

  it("reads only the app whose definition changed", async () => {
    const w = await watching();
    w.send(w.cluster.editApp(4));
    await eventually(() => w.file() === fullRender(w.cluster), `the edited app\n${w.p.stderr()}`);
    expect(fullReads(w.m)).toBe(1);
    expect(w.m.requests.map((r) => r.path)).toContain(`/v2/apps${w.cluster.app(4).id}?embed=app.tasks`);
  });

  it("lost and reordered events: the divergence is detected, logged, counted and fixed at the next resync", async () => {
    const w = await watching(["--resync", "2s"]);
    // Lost: a task of app 3 is killed, and its event never arrives.
    w.cluster.killTask(3);
    // Reordered: a task of app 5 starts and is killed, but the kill arrives before the start.
    const start = w.cluster.startTask(5);
    const started = w.cluster.app(5).tasks.pop();
    w.send([
      {
        type: "status_update_event",
        data: { appId: w.cluster.app(5).id, taskId: started?.id, taskStatus: "TASK_KILLED" },
      },
      ...start,
    ]);
    const truth = fullRender(w.cluster);
    await eventually(() => w.status().syncs >= 2, `the sync of the events\n${w.p.stderr()}`);
    expect(w.file()).not.toBe(truth); // mhc believed the events
    await eventually(() => w.status().divergences === 1, `the resync\n${w.p.stderr()}`, 10_000);
    await eventually(() => w.file() === truth, `the corrected file\n${w.p.stderr()}`);
    const touched = [...serviceNames(w.cluster, 3), ...serviceNames(w.cluster, 5)].sort();
    expect(w.status().lastDivergence).toEqual(touched);
    expect(w.p.stderr()).toContain(
      `resync: the state kept from events differed from Marathon in ${touched.length} services: ${touched.join(", ")}; publishing the full read`,
    );
  });

  it("a reconnect reads everything and checks: changes missed while the stream was down are caught", async () => {
    const w = await watching();
    w.m.drop();
    w.cluster.killTask(7); // while no stream is open: this event is lost
    await eventually(() => w.m.openStreams() === 1, `the reconnect\n${w.p.stderr()}`);
    await eventually(() => w.file() === fullRender(w.cluster), `the full read\n${w.p.stderr()}`);
    await eventually(() => w.status().divergences === 1, "the divergence");
    expect(fullReads(w.m)).toBe(2);
  });

  it("--no-incremental reads every app on every sync, as before", async () => {
    const w = await watching(["--no-incremental"]);
    w.send(w.cluster.startTask(1));
    await eventually(() => w.file() === fullRender(w.cluster), `the write\n${w.p.stderr()}`);
    await sleep(200);
    expect(fullReads(w.m)).toBe(2);
    expect(appReads(w.m)).toBe(0);
    expect(w.status()).toMatchObject({ incremental: false });
  });

  it("sync --watch commits a change applied from events with the trailer Snapshot: events applied to the last full read", async () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 10, tasksPerApp: 2, seed: 5 }), 5);
    const m = await startEventMarathon(cluster.snapshot);
    marathons.push(m);
    const remote = bareRepo();
    const p = startMhc(
      ["sync", "--watch", m.url, "--repo", remote, "--wait", "100ms:1s", "--validate", "never"],
      { timeoutMs: 60_000, env: { XDG_CACHE_HOME: tempDir("mhc-cache-") } },
    );
    running.push(p);
    await eventually(() => commits(remote).length === 1 && m.openStreams() === 1, `the start\n${p.stderr()}`);
    expect(message(remote)).toMatch(/\nSnapshot-Digest: sha256:[0-9a-f]{64}\n/);
    for (const event of cluster.startTask(3)) m.send(event.type, event.data);
    await eventually(() => commits(remote).length === 2, `the commit of the event\n${p.stderr()}`);
    expect(fileAt(remote, "main", "haproxy/haproxy.cfg")).toBe(fullRender(cluster));
    expect(message(remote)).toMatch(/\nSnapshot: events applied to the last full read\n/);
    expect(fullReads(m)).toBe(1);
  });
});
