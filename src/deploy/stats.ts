import { readIfExists, writeFileAtomic } from "../io/files.ts";

/**
 * What a host's deploys have done over time (`<config>.mhc-deploy-stats.json`), kept by every run
 * (one-shot or --watch), shown by `--status --json` and written as Prometheus text by --metrics-file.
 */
export interface DeployStats {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** Runs whose changes went over the Runtime API without a reload. */
  runtimeApplies: number;
  /** Reloads that took (including completing an interrupted run's). */
  reloads: number;
  /** Failed reloads after which the previous config was put back. */
  rollbacks: number;
  /** Candidates refused (haproxy -c, the pre-flights, a failed reload); a held one counts once. */
  refused: number;
  /** The newest remote commit a run saw. */
  remoteCommit: string | null;
  /** Since when the remote has had a commit this host has not deployed; null when current. */
  behindSince: string | null;
}

/** Counts one run adds, then merged into the stats. */
export interface RunTally {
  runtimeApplies: number;
  reloads: number;
  rollbacks: number;
  refused: number;
}

export const emptyTally = (): RunTally => ({ runtimeApplies: 0, reloads: 0, rollbacks: 0, refused: 0 });

const statsPath = (config: string) => `${config}.mhc-deploy-stats.json`;

const empty: DeployStats = {
  lastSuccessAt: null,
  lastFailureAt: null,
  runtimeApplies: 0,
  reloads: 0,
  rollbacks: 0,
  refused: 0,
  remoteCommit: null,
  behindSince: null,
};

export async function readStats(config: string): Promise<DeployStats> {
  const text = await readIfExists(statsPath(config));
  try {
    return text === undefined ? { ...empty } : { ...empty, ...(JSON.parse(text) as Partial<DeployStats>) };
  } catch {
    return { ...empty };
  }
}

export interface RunResult {
  ok: boolean;
  tally: RunTally;
  /** The remote commit the run fetched, if it got that far. */
  remoteCommit?: string;
  /** The commit installed and loaded after the run. */
  deployedCommit?: string;
}

/** Adds one run to the stats file. */
export async function recordRun(config: string, run: RunResult, now = new Date()): Promise<DeployStats> {
  const stats = await readStats(config);
  const at = now.toISOString();
  const remoteCommit = run.remoteCommit ?? stats.remoteCommit;
  const current = remoteCommit !== null && remoteCommit === run.deployedCommit;
  const next: DeployStats = {
    lastSuccessAt: run.ok ? at : stats.lastSuccessAt,
    lastFailureAt: run.ok ? stats.lastFailureAt : at,
    runtimeApplies: stats.runtimeApplies + run.tally.runtimeApplies,
    reloads: stats.reloads + run.tally.reloads,
    rollbacks: stats.rollbacks + run.tally.rollbacks,
    refused: stats.refused + run.tally.refused,
    remoteCommit,
    behindSince: current || remoteCommit === null ? null : (stats.behindSince ?? at),
  };
  await writeFileAtomic(statsPath(config), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

/** Seconds since the host fell behind the remote, 0 when current. */
export const behindSeconds = (stats: DeployStats, now = Date.now()) =>
  stats.behindSince === null ? 0 : Math.max(0, Math.round((now - Date.parse(stats.behindSince)) / 1000));
