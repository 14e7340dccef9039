import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedCluster } from "../../scripts/bench/cluster.ts";
import { generateSnapshot } from "../../scripts/bench/generate.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { bareRepo, commits, git, tempDir } from "../helpers/git.ts";
import { eventually } from "../helpers/wait.ts";

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };

function snapshotFile(hosts: string[]): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  const tasks = hosts.map((host) => task({ host, ports: [31000] }));
  writeFileSync(
    file,
    JSON.stringify(hosts.length > 0 ? snapshotOf(hostApp("/web", [10000], tasks)) : snapshotOf()),
  );
  return file;
}

const sample = (text: string, name: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined
    ? undefined
    : { labels: /\{(.*)\}/.exec(line)?.[1] ?? "", value: Number(line.split(" ").at(-1)) };
};

describe("mhc sync --metrics-file", () => {
  it("counts runs, changes, commits, gate refusals and Marathon errors across one-shot runs, with the last commit and the render duration", async () => {
    const remote = bareRepo();
    const metrics = join(tempDir("mhc-metrics-"), "mhc_sync.prom");
    const sync = (source: string[]) =>
      runMhc(["sync", ...source, "--repo", remote, "--metrics-file", metrics], { env });
    const value = (name: string) => sample(readFileSync(metrics, "utf8"), name)?.value;

    expect((await sync(["--from", snapshotFile(["10.0.0.1", "10.0.0.2"])])).code).toBe(0);
    const head = git(remote, "rev-parse", "main").trim();
    expect(sample(readFileSync(metrics, "utf8"), "mhc_sync_last_commit_info")?.labels).toBe(
      `commit="${head}"`,
    );
    expect(value("mhc_sync_commits_total")).toBe(1);
    expect(value("mhc_sync_last_commit_timestamp_seconds")).toBeGreaterThan(0);
    expect(value("mhc_sync_render_duration_seconds")).toBeGreaterThanOrEqual(0);

    expect((await sync(["--from", snapshotFile(["10.0.0.1", "10.0.0.2"])])).code).toBe(0);
    // Every app gone at once: the no-apps gate refuses (exit 10).
    expect((await sync(["--from", snapshotFile([])])).code).toBe(10);
    // Nothing listens on port 1: Marathon unreachable (exit 3).
    expect((await sync(["127.0.0.1:1", "--timeout", "1"])).code).toBe(3);

    expect(value("mhc_sync_runs_total")).toBe(4);
    expect(value("mhc_sync_changes_total")).toBe(2);
    expect(value("mhc_sync_commits_total")).toBe(1);
    expect(value("mhc_sync_gate_refusals_total")).toBe(1);
    expect(value("mhc_sync_marathon_errors_total")).toBe(1);
    expect(value("mhc_sync_failures_total")).toBe(2);
    expect(value("mhc_sync_full_reads_total")).toBe(3);
    expect(value("mhc_sync_last_failure_timestamp_seconds")).toBeGreaterThan(0);
    expect(sample(readFileSync(metrics, "utf8"), "mhc_sync_last_commit_info")?.labels).toBe(
      `commit="${head}"`,
    );
    for (const line of readFileSync(metrics, "utf8").trimEnd().split("\n")) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) mhc_sync_[a-z_]+ .+|mhc_sync_[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+)$/,
      );
    }
  });

  it("sync --watch counts full reads and divergences: a lost event is counted when the resync finds it", async () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 10, tasksPerApp: 2, seed: 7 }), 7);
    const m = await startEventMarathon(cluster.snapshot);
    marathons.push(m);
    const remote = bareRepo();
    const metrics = join(tempDir("mhc-metrics-"), "mhc_sync.prom");
    const value = (name: string) =>
      existsSync(metrics) ? sample(readFileSync(metrics, "utf8"), name)?.value : undefined;
    const p = startMhc(
      ["sync", "--watch", m.url, "--repo", remote, "--wait", "100ms:1s", "--resync", "2s"].concat([
        "--validate",
        "never",
        "--metrics-file",
        metrics,
      ]),
      { timeoutMs: 60_000, env },
    );
    running.push(p);
    await eventually(
      () => value("mhc_sync_runs_total") === 1 && m.openStreams() === 1,
      `the start\n${p.stderr()}`,
    );
    expect(value("mhc_sync_full_reads_total")).toBe(1);
    expect(value("mhc_sync_divergences_total")).toBe(0);
    expect(value("mhc_sync_last_divergence_timestamp_seconds")).toBe(0);
    // Applied from its event: no full read.
    for (const event of cluster.startTask(2)) m.send(event.type, event.data);
    await eventually(() => value("mhc_sync_commits_total") === 2, `the commit of the event\n${p.stderr()}`);
    expect(value("mhc_sync_full_reads_total")).toBe(1);
    // Lost: a task is killed and its event never arrives; the resync finds and fixes it.
    cluster.killTask(4);
    await eventually(() => value("mhc_sync_divergences_total") === 1, `the resync\n${p.stderr()}`, 10_000);
    expect(value("mhc_sync_full_reads_total")).toBeGreaterThanOrEqual(2);
    expect(value("mhc_sync_last_divergence_timestamp_seconds")).toBeGreaterThan(0);
    await eventually(() => commits(remote).length === 3, `the corrected commit\n${p.stderr()}`);
  });
});
