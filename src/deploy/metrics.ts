import { epochSeconds, type Metric, writeMetricsFile } from "../io/metrics.ts";
import { readFailure, readRecord } from "./record.ts";
import { behindSeconds, type DeployStats, readStats } from "./stats.ts";

/** The figures of `deploy --status --json` (`metrics`) and of --metrics-file: the stats, the record's commit, whether a candidate is held. */
export interface DeployFigures extends Omit<DeployStats, "remoteCommit"> {
  deployedCommit: string | null;
  deployedAt: string | null;
  applied: "runtime" | "reload" | null;
  /** A refused candidate is held (the host stays on the deployed commit). */
  held: boolean;
  behindSeconds: number;
}

export async function deployFigures(config: string, stats?: DeployStats): Promise<DeployFigures> {
  const current = stats ?? (await readStats(config));
  const record = await readRecord(config);
  // Spelled out rather than spread: --status --json keeps its documented key order.
  return {
    deployedCommit: record?.commit ?? null,
    deployedAt: record?.deployedAt ?? null,
    applied: record?.applied ?? null,
    lastSuccessAt: current.lastSuccessAt,
    lastFailureAt: current.lastFailureAt,
    runtimeApplies: current.runtimeApplies,
    reloads: current.reloads,
    rollbacks: current.rollbacks,
    refused: current.refused,
    held: (await readFailure(config)) !== undefined,
    behindSince: current.behindSince,
    behindSeconds: behindSeconds(current),
  };
}

/** The figures as Prometheus metrics, every sample labelled with the config path. */
export function deployMetrics(config: string, f: DeployFigures): Metric[] {
  const labels = { config };
  const gauge = (name: string, help: string, value: number, extra: Record<string, string> = {}): Metric => ({
    name,
    help,
    type: "gauge",
    samples: [{ labels: { ...labels, ...extra }, value }],
  });
  const counter = (name: string, help: string, value: number): Metric => ({
    name,
    help,
    type: "counter",
    samples: [{ labels, value }],
  });
  return [
    gauge("mhc_deploy_info", "The deployed commit and how HAProxy took it (always 1).", 1, {
      commit: f.deployedCommit ?? "",
      applied: f.applied ?? "",
    }),
    gauge(
      "mhc_deploy_deployed_timestamp_seconds",
      "When the deployed commit was deployed.",
      epochSeconds(f.deployedAt),
    ),
    gauge(
      "mhc_deploy_last_success_timestamp_seconds",
      "When a deploy run last succeeded (0: never).",
      epochSeconds(f.lastSuccessAt),
    ),
    gauge(
      "mhc_deploy_last_failure_timestamp_seconds",
      "When a deploy run last failed (0: never).",
      epochSeconds(f.lastFailureAt),
    ),
    counter(
      "mhc_deploy_runtime_applies_total",
      "Deploys applied over the Runtime API without a reload.",
      f.runtimeApplies,
    ),
    counter("mhc_deploy_reloads_total", "HAProxy reloads done by deploys.", f.reloads),
    counter(
      "mhc_deploy_rollbacks_total",
      "Failed reloads after which the previous config was restored.",
      f.rollbacks,
    ),
    counter(
      "mhc_deploy_refused_total",
      "Candidates refused (invalid, pre-flight, failed reload).",
      f.refused,
    ),
    gauge(
      "mhc_deploy_held",
      "1 while a refused candidate holds the host on an older commit.",
      f.held ? 1 : 0,
    ),
    gauge(
      "mhc_deploy_behind_seconds",
      "Seconds the host has been behind the remote when this was written (0: current).",
      f.behindSeconds,
    ),
    gauge(
      "mhc_deploy_behind_since_timestamp_seconds",
      "Since when the remote has had a commit the host has not deployed (0: current).",
      epochSeconds(f.behindSince),
    ),
  ];
}

export async function writeDeployMetrics(path: string, config: string, stats?: DeployStats): Promise<void> {
  await writeMetricsFile(path, deployMetrics(config, await deployFigures(config, stats)));
}
