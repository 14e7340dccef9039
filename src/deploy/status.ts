import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { checkRef, commitsBehind, defaultDeployCache, fetchConfig, normaliseRepo } from "../git/fetch.ts";
import { reloadStrategies } from "../haproxy/reload/registry.ts";
import type { Reloader, RunningHaproxy } from "../haproxy/reload/strategy.ts";
import { readIfExists } from "../io/files.ts";
import { acquireLock } from "../io/lock.ts";
import {
  backupPath,
  type DeployRecord,
  type FailedCandidate,
  lockPath,
  readFailure,
  readPending,
  readRecord,
  sha256,
} from "./record.ts";

/** `deploy --status --json`, schema 1: every key is always there, null where a value is absent. */
export interface DeployStatus {
  schema: 1;
  config: string;
  /** The verdict, worst first: held, not-running, not-installed, pending, not-loaded, not-by-mhc, modified, behind, current. */
  state: string;
  /** The exit code of `--status`: 0 current, 1 behind or pending, ≥ 2 error. */
  exitCode: number;
  /** One line saying why. */
  message: string;
  installed: boolean;
  /** sha256 of the config as it is on disk now. */
  sha256: string | null;
  /** True when the installed file is byte for byte what mhc deployed. */
  matchesRecord: boolean;
  backup: string | null;
  /** The config HAProxy loaded last through mhc. */
  record: DeployRecord | null;
  /** A config installed whose reload has not completed (an interrupted run); the next run reloads it. */
  pendingCommit: string | null;
  /** A candidate HAProxy could not load; the host stays on `record.commit` until a newer commit. */
  failed: FailedCandidate | null;
  remote: {
    ref: string;
    commit: string;
    /** Commits the installed one is behind; null when further behind than fetched, or not an ancestor. */
    behind: number | null;
  } | null;
  haproxy: {
    /** null where the reload strategy cannot tell (`--reload-cmd`). */
    running: boolean | null;
    pids: number[];
    configs: string[];
    startedAt: string | null;
    /** Whether the running HAProxy started after the installed file was written. */
    loadedInstalled: boolean | null;
  };
}

export interface StatusRequest {
  config: string;
  haproxy: string;
  /** The strategy given on the command line; else the one the record names. */
  reloader?: Reloader;
  /** With a repo, the remote branch is fetched to count how far behind the host is. */
  repo?: string;
  ref: string;
  path: string;
  workdir?: string;
  /** Deadline of each git call (`--git-timeout`). */
  gitTimeoutMs?: number;
}

/** Start times are known to 10 ms: a process counts as started after the install within this slack. */
const startSlackMs = 50;

export async function deployStatus(request: StatusRequest): Promise<DeployStatus> {
  const config = resolve(request.config);
  const content = await readIfExists(config);
  const record = (await readRecord(config)) ?? null;
  const pending = (await readPending(config)) ?? null;
  const failed = (await readFailure(config)) ?? null;
  const hash = content === undefined ? null : sha256(content);
  const backup = (await readIfExists(backupPath(config))) === undefined ? null : backupPath(config);
  const reloader = request.reloader ?? recordedReloader(record);
  const running = reloader?.probe ? ((await reloader.probe(request.haproxy)) ?? null) : undefined;
  const mtime = content === undefined ? undefined : (await stat(config)).mtimeMs;
  const loadedInstalled =
    running?.startedAtMs === undefined || mtime === undefined
      ? null
      : running.startedAtMs >= mtime - startSlackMs;
  const status: DeployStatus = {
    schema: 1,
    config,
    state: "current",
    exitCode: ExitCode.ok,
    message: "",
    installed: content !== undefined,
    sha256: hash,
    matchesRecord: record !== null && hash === record.sha256,
    backup,
    record,
    pendingCommit: pending && pending.sha256 === hash ? pending.commit : null,
    failed,
    remote: request.repo && record ? await remoteState(request, config, record) : null,
    haproxy: haproxyState(running, loadedInstalled),
  };
  return { ...status, ...verdict(status) };
}

function recordedReloader(record: DeployRecord | null): Reloader | undefined {
  const strategy = reloadStrategies.find((s) => s.name === record?.reload);
  if (!strategy || !record?.reloadWith) return undefined;
  try {
    return strategy.select(record.reloadWith);
  } catch {
    return undefined;
  }
}

function haproxyState(running: RunningHaproxy | null | undefined, loadedInstalled: boolean | null) {
  return {
    running: running === undefined ? null : running !== null,
    pids: running?.pids ?? [],
    configs: running?.configs ?? [],
    startedAt: running?.startedAtMs === undefined ? null : new Date(running.startedAtMs).toISOString(),
    loadedInstalled,
  };
}

async function remoteState(request: StatusRequest, config: string, record: DeployRecord) {
  const repo = normaliseRepo(request.repo as string);
  const ref = checkRef(request.ref);
  const workdir = request.workdir ? resolve(request.workdir) : defaultDeployCache(repo, config);
  // The cache is the deploy's: wait for a running deploy rather than fetching beside it.
  const release = await acquireLock(lockPath(config), { holder: "a deploy", waitMs: 60_000 });
  try {
    const fetch = { repo, ref, path: request.path, workdir, gitTimeoutMs: request.gitTimeoutMs };
    const { commit } = await fetchConfig(fetch);
    const behind = await commitsBehind(fetch, record.commit, commit).catch((error) => {
      throw new MhcError(`cannot count the commits behind ${ref}: ${errorMessage(error)}`, ExitCode.git);
    });
    return { ref, commit, behind: behind ?? null };
  } finally {
    await release();
  }
}

/** The worst thing that is true, its exit code and one line. */
function verdict(s: DeployStatus): Pick<DeployStatus, "state" | "exitCode" | "message"> {
  const held = s.record ? `commit ${s.record.commit.slice(0, 12)}` : "no config";
  if (s.failed) {
    return {
      state: "held",
      exitCode: s.failed.exitCode,
      message: `held on ${held}: commit ${s.failed.commit.slice(0, 12)} failed to load (${s.failed.reason})`,
    };
  }
  if (s.haproxy.running === false && s.installed) {
    return { state: "not-running", exitCode: ExitCode.reloadFailed, message: "HAProxy is not running" };
  }
  if (!s.installed) return { state: "not-installed", exitCode: 1, message: `${s.config} is not installed` };
  if (s.pendingCommit) {
    return {
      state: "pending",
      exitCode: 1,
      message: `commit ${s.pendingCommit.slice(0, 12)} is installed but HAProxy has not loaded it: the next deploy reloads it`,
    };
  }
  if (s.haproxy.loadedInstalled === false) {
    return {
      state: "not-loaded",
      exitCode: 1,
      message: "the running HAProxy started before the installed file was written: it has not loaded it",
    };
  }
  if (!s.record) return { state: "not-by-mhc", exitCode: 1, message: "installed, but not by mhc deploy" };
  if (!s.matchesRecord) {
    return { state: "modified", exitCode: 1, message: "MODIFIED since the deploy (sha256 differs)" };
  }
  if (s.remote && s.remote.commit !== s.record.commit) {
    const count = s.remote.behind === null ? "more than a few" : String(s.remote.behind);
    return {
      state: "behind",
      exitCode: 1,
      message: `${count} commit(s) behind ${s.remote.ref} (${s.remote.commit.slice(0, 12)})`,
    };
  }
  return { state: "current", exitCode: ExitCode.ok, message: "current" };
}

export function formatStatus(status: DeployStatus): string {
  const { record, haproxy, remote } = status;
  const lines = [`config:    ${status.config}`, `status:    ${status.state}: ${status.message}`];
  if (record) {
    lines.push(
      `commit:    ${record.commit}`,
      `source:    ${record.repo} (ref ${record.ref}, path ${record.path})`,
      `deployed:  ${record.deployedAt} (reload: ${record.reload})`,
      `state:     ${status.matchesRecord ? "matches the deployed commit" : "MODIFIED since the deploy (sha256 differs)"}`,
      `previous:  ${record.previousCommit ?? "none recorded"}${status.backup ? ` (backup ${status.backup})` : ""}`,
    );
  }
  if (remote) {
    const behind =
      remote.behind === null ? "not counted (too far or not an ancestor)" : String(remote.behind);
    lines.push(`remote:    ${remote.ref} at ${remote.commit}, behind: ${behind}`);
  }
  if (haproxy.running !== null) {
    lines.push(
      haproxy.running
        ? `haproxy:   running (pid ${haproxy.pids.join(" ")}, ${haproxy.configs.join(" ") || "config unknown"}), ${haproxy.loadedInstalled === false ? "has NOT loaded the installed file" : "loaded the installed file"}`
        : "haproxy:   not running",
    );
  }
  return `${lines.join("\n")}\n`;
}
