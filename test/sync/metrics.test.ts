import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, git, tempDir } from "../helpers/git.ts";

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
});
