import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { readIfExists } from "../io/files.ts";
import { type Metric, writeMetricsFile } from "../io/metrics.ts";
import { log } from "../log.ts";

/** What one sync did, as `mhc sync --metrics-file` counts it. */
export interface SyncRun {
  /** The result's exit code, or the thrown error. */
  exitCode?: number;
  error?: unknown;
  /** Whether the rendered config differed from the published one (Marathon changed). */
  changed: boolean;
  commit?: string;
  /** Seconds spent building the model from the snapshot (normalise, the bulk of rendering). */
  renderSeconds: number;
  /** How Marathon was read, once it was (not when reading it failed). */
  read?: MarathonRead;
}

/** How a sync read Marathon: every app, and whether that found watch mode's kept state wrong. */
export interface MarathonRead {
  /** Every app was read (a one-shot sync; a watch's start, reconnect or resync). */
  full: boolean;
  /** The full read differed from the state a watch kept from events (corrected by publishing it). */
  diverged: boolean;
}

const counters = [
  ["mhc_sync_runs_total", "Syncs run."],
  ["mhc_sync_changes_total", "Syncs whose rendered config differed from the published one."],
  ["mhc_sync_commits_total", "Commits published."],
  ["mhc_sync_gate_refusals_total", "Changes a safety gate refused (held, or pushed for review)."],
  ["mhc_sync_marathon_errors_total", "Syncs that failed to read Marathon (unreachable, auth, bad data)."],
  ["mhc_sync_failures_total", "Syncs that failed for any reason."],
  [
    "mhc_sync_full_reads_total",
    "Syncs that read every app from Marathon (--watch: start, reconnects, resyncs).",
  ],
  [
    "mhc_sync_divergences_total",
    "Full reads that found the state --watch kept from events different from Marathon (then corrected).",
  ],
] as const;

const marathonCodes: number[] = [ExitCode.marathonUnreachable, ExitCode.marathonAuth, ExitCode.marathonData];

/** The value of each sample in an earlier metrics file, keyed by the sample's name. */
function previousValues(text: string | undefined): Map<string, { labels: string; value: number }> {
  const values = new Map<string, { labels: string; value: number }>();
  for (const line of (text ?? "").split("\n")) {
    const match = /^(mhc_sync_[a-z_]+)(\{.*\})? (\S+)$/.exec(line);
    if (match) values.set(match[1] as string, { labels: match[2] ?? "", value: Number(match[3]) });
  }
  return values;
}

/**
 * Rewrites the sync metrics file after a sync. Counters continue from the file's previous values,
 * so one-shot runs (cron, a timer) count up as a long-running --watch does.
 */
export async function recordSyncMetrics(path: string, run: SyncRun, now = Date.now()): Promise<void> {
  const before = previousValues(await readIfExists(path));
  const code = run.error instanceof MhcError ? run.error.exitCode : run.error ? -1 : (run.exitCode ?? 0);
  const failed = run.error !== undefined || (code !== ExitCode.ok && code !== ExitCode.pushedForReview);
  const increments: Record<string, number> = {
    mhc_sync_runs_total: 1,
    mhc_sync_changes_total: run.changed ? 1 : 0,
    mhc_sync_commits_total: run.commit && code === ExitCode.ok ? 1 : 0,
    mhc_sync_gate_refusals_total: code === ExitCode.gateRefused || code === ExitCode.pushedForReview ? 1 : 0,
    mhc_sync_marathon_errors_total: marathonCodes.includes(code) ? 1 : 0,
    mhc_sync_failures_total: failed ? 1 : 0,
    mhc_sync_full_reads_total: run.read?.full ? 1 : 0,
    mhc_sync_divergences_total: run.read?.diverged ? 1 : 0,
  };
  const seconds = now / 1000;
  const kept = (name: string) => before.get(name)?.value ?? 0;
  const committed = run.commit !== undefined && code === ExitCode.ok;
  const lastCommit = committed
    ? `{commit="${run.commit}"}`
    : (before.get("mhc_sync_last_commit_info")?.labels ?? `{commit=""}`);
  const gauge = (name: string, help: string, value: number): Metric => ({
    name,
    help,
    type: "gauge",
    samples: [{ value }],
  });
  const metrics: Metric[] = [
    ...counters.map(
      ([name, help]): Metric => ({
        name,
        help,
        type: "counter",
        samples: [{ value: kept(name) + (increments[name] ?? 0) }],
      }),
    ),
    {
      name: "mhc_sync_last_commit_info",
      help: "The commit published last (always 1).",
      type: "gauge",
      samples: [{ labels: { commit: /commit="([^"]*)"/.exec(lastCommit)?.[1] ?? "" }, value: 1 }],
    },
    gauge(
      "mhc_sync_last_commit_timestamp_seconds",
      "When a commit was last published (0: never).",
      committed ? seconds : kept("mhc_sync_last_commit_timestamp_seconds"),
    ),
    gauge(
      "mhc_sync_last_change_timestamp_seconds",
      "When a sync last saw the rendered config differ from the published one.",
      run.changed ? seconds : kept("mhc_sync_last_change_timestamp_seconds"),
    ),
    gauge(
      "mhc_sync_last_success_timestamp_seconds",
      "When a sync last succeeded (0: never).",
      failed ? kept("mhc_sync_last_success_timestamp_seconds") : seconds,
    ),
    gauge(
      "mhc_sync_last_failure_timestamp_seconds",
      "When a sync last failed (0: never).",
      failed ? seconds : kept("mhc_sync_last_failure_timestamp_seconds"),
    ),
    gauge(
      "mhc_sync_last_divergence_timestamp_seconds",
      "When a full read last found the state kept from events different from Marathon (0: never).",
      run.read?.diverged ? seconds : kept("mhc_sync_last_divergence_timestamp_seconds"),
    ),
    gauge(
      "mhc_sync_render_duration_seconds",
      "Seconds the last sync spent building the model from the snapshot.",
      Math.round(run.renderSeconds * 1000) / 1000,
    ),
  ];
  await writeMetricsFile(path, metrics);
}

/**
 * Runs one sync (`sync` gets a `timeRender` to wrap its normalise and render in, and `noteRead` to
 * say how it read Marathon) and, with a metrics file, records it there, failures included; a
 * metrics write error is only a warning.
 */
export async function measuredSync<T extends { exitCode: number; changed: boolean; commit?: string }>(
  metricsFile: string | undefined,
  sync: (timeRender: <R>(work: () => R) => R, noteRead: (read: MarathonRead) => void) => Promise<T>,
): Promise<T> {
  let renderSeconds = 0;
  let read: MarathonRead | undefined;
  const noteRead = (how: MarathonRead) => {
    read = how;
  };
  const timeRender = <R>(work: () => R): R => {
    const started = performance.now();
    try {
      return work();
    } finally {
      renderSeconds = (performance.now() - started) / 1000;
    }
  };
  const record = (run: Omit<SyncRun, "renderSeconds" | "read">) =>
    metricsFile
      ? recordSyncMetrics(metricsFile, { ...run, renderSeconds, ...(read ? { read } : {}) }).catch((error) =>
          log.warn(`cannot write ${metricsFile}: ${errorMessage(error)}`),
        )
      : undefined;
  try {
    const result = await sync(timeRender, noteRead);
    await record({ exitCode: result.exitCode, changed: result.changed, commit: result.commit });
    return result;
  } catch (error) {
    await record({ error, changed: false });
    throw error;
  }
}
