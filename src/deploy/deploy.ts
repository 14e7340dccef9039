import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ExitCode, type ExitCodeValue, errorMessage, MhcError } from "../errors.ts";
import { checkRef, defaultDeployCache, fetchConfig, normaliseRepo } from "../git/fetch.ts";
import { checkConfig, firstAlert } from "../haproxy/binary.ts";
import { fileDescriptorNeed } from "../haproxy/config.ts";
import { showProc } from "../haproxy/master-cli.ts";
import { unbindableListeners } from "../haproxy/preflight.ts";
import type { Reloader } from "../haproxy/reload/strategy.ts";
import { planServerChanges, type ServerPlan } from "../haproxy/server-changes.ts";
import { readBytesIfExists, readIfExists, readTextFile, writeTarget } from "../io/files.ts";
import { acquireLock } from "../io/lock.ts";
import { openFilesLimit } from "../io/processes.ts";
import { log, redact } from "../log.ts";
import { discard, installCandidate, restoreBackup, writeCandidate } from "./install.ts";
import { writeDeployMetrics } from "./metrics.ts";
import {
  backupPath,
  clearFailure,
  clearPending,
  type DeployRecord,
  lockPath,
  markPending,
  readFailure,
  readPending,
  readRecord,
  sha256,
  writeFailure,
  writeRecord,
} from "./record.ts";
import { applyAtRuntime, dumpServerState, type RuntimeSettings, runtimeSocket } from "./runtime.ts";
import { emptyTally, type RunResult, type RunTally, recordRun } from "./stats.ts";

export interface DeployOptions {
  repo: string;
  ref: string;
  /** Path of the config inside the repository. */
  path: string;
  /** The installed HAProxy config, e.g. /etc/haproxy/haproxy.cfg. */
  config: string;
  reloader: Reloader;
  haproxy: string;
  workdir?: string;
  /** Try a commit again that failed to load before. */
  retryFailed?: boolean;
  /** Server-only changes over the Runtime API; absent (--no-runtime): every change reloads. */
  runtime?: RuntimeSettings;
  /** Prometheus text file rewritten after every run (--metrics-file). */
  metricsFile?: string;
  /** Deadline of each git call (`--git-timeout`). */
  gitTimeoutMs?: number;
}

/** The installed config as mhc sees it: the path given, the file written (a symlink's target). */
interface Target {
  options: DeployOptions;
  config: string;
  file: string;
  /** What this run did, for the stats. */
  tally: RunTally;
}

/**
 * complete a reload an earlier run left pending → fetch → compare → `haproxy -c` and a bind
 * pre-flight → atomic install with backup → reload → check → record. Every failure after the install
 * puts the previous config back and reloads it; a commit that failed to load is not tried again.
 */
export async function deploy(options: DeployOptions): Promise<void> {
  const config = resolve(options.config);
  const repo = normaliseRepo(options.repo);
  const ref = checkRef(options.ref);
  if (!existsSync(dirname(config))) {
    throw new MhcError(`the folder of --config ${config} does not exist`, ExitCode.io);
  }
  const release = await acquireLock(lockPath(config), { holder: "another deploy" });
  const run: RunResult = { ok: false, tally: emptyTally() };
  try {
    const target: Target = { options, config, file: await writeTarget(config), tally: run.tally };
    await deployLocked(target, repo, ref, run);
    run.ok = true;
  } finally {
    await finishRun(options, config, run);
    await release();
  }
}

/** Adds the run to the stats and rewrites --metrics-file; neither may hide the run's own outcome. */
async function finishRun(options: DeployOptions, config: string, run: RunResult): Promise<void> {
  try {
    run.deployedCommit = (await readRecord(config))?.commit;
    const stats = await recordRun(config, run);
    if (options.metricsFile) await writeDeployMetrics(options.metricsFile, config, stats);
  } catch (error) {
    log.warn(`cannot update the deploy metrics: ${errorMessage(error)}`);
  }
}

async function deployLocked(target: Target, repo: string, ref: string, run: RunResult): Promise<void> {
  const { options, config } = target;
  // Before the fetch: a remote outage must not keep HAProxy on a config it has not loaded.
  await completePendingReload(target);
  const installedBytes = await readBytesIfExists(target.file);
  const previous = await readRecord(config);
  // Hashed once, as read: 10 MB take about 10 ms.
  const installedByMhc =
    previous !== undefined && installedBytes !== undefined && previous.sha256 === sha256(installedBytes);
  const { commit, content } = await fetchConfig({
    repo,
    ref,
    path: options.path,
    workdir: options.workdir ? resolve(options.workdir) : defaultDeployCache(repo, config),
    gitTimeoutMs: options.gitTimeoutMs,
    // The installed file is `path` at the recorded commit only if the record is for this path.
    ...(installedByMhc && previous.path === options.path
      ? { installed: { rev: previous.commit, bytes: installedBytes } }
      : {}),
  });
  run.remoteCommit = commit;
  const short = commit.slice(0, 12);
  const installed = installedBytes?.toString("utf8");
  const record = {
    commit,
    ref,
    path: options.path,
    repo: redact(repo),
    sha256: sha256(content),
    reload: options.reloader.kind,
    reloadWith: options.reloader.value,
  };

  if (installed === content) {
    await clearFailure(config);
    // Silent on purpose: cron mails every line a job prints, and this runs every minute.
    if (previous?.commit === commit && previous.sha256 === record.sha256) {
      log.debug(`commit ${short} is already installed`);
    } else {
      log.info(`${config} already matches commit ${short}; recorded it without reloading`);
      await writeRecord(config, {
        ...record,
        deployedAt: previous?.deployedAt ?? new Date().toISOString(),
        previousCommit: previous?.previousCommit ?? null,
      });
    }
    return;
  }

  const failure = await readFailure(config);
  if (failure?.commit === commit && failure.sha256 === record.sha256 && !options.retryFailed) {
    const held = previous ? `commit ${previous.commit.slice(0, 12)}` : "no config";
    throw new MhcError(
      `commit ${short} failed to load before (${failure.reason}); HAProxy stays on ${held} until a newer commit arrives (--retry-failed tries it again)`,
      failure.exitCode as ExitCodeValue,
    );
  }

  log.info(`deploying commit ${short} (${options.path} at ${ref})`);
  const next: DeployRecord = {
    ...record,
    deployedAt: "",
    previousCommit: installedByMhc ? previous.commit : null,
  };
  try {
    const reason = await deployAtRuntime(
      target,
      content,
      installed,
      installedByMhc ? previous : undefined,
      next,
    );
    if (reason !== undefined) {
      await checkFileDescriptors(target, content, short);
      await checkCandidate(target, content, installed, short);
      await install(target, content, installed, { ...next, applied: "reload", appliedBecause: reason });
    }
  } catch (error) {
    if (error instanceof MhcError && refusesCandidate(error)) {
      target.tally.refused++;
      await writeFailure(config, {
        commit,
        sha256: record.sha256,
        exitCode: error.exitCode,
        reason: error.message,
        failedAt: new Date().toISOString(),
      });
    }
    throw error;
  }
  await clearFailure(config);
}

/** Failures that are the candidate's own: trying the same commit again would fail the same way. */
const refusesCandidate = (error: MhcError) =>
  error.exitCode === ExitCode.invalidConfig || error.exitCode === ExitCode.reloadFailed;

/**
 * HAProxy needs a file descriptor per listener and per check before it serves anything; under a
 * lower limit it passes `haproxy -c` and then fails to start or reload. The limit is the hard one
 * of the process HAProxy will run under: a running master (--master-socket, or a master CLI given
 * as --runtime-socket), else mhc's own, which a `haproxy -D` it starts inherits. Where mhc cannot
 * tell (--reload-cmd without a master CLI), nothing is checked.
 */
async function checkFileDescriptors({ options, config }: Target, content: string, short: string) {
  const limit = await fileDescriptorLimit(options);
  if (limit === undefined) return;
  const need = fileDescriptorNeed(content);
  if (need <= limit) return;
  throw new MhcError(
    `commit ${short} needs ${need} file descriptors but HAProxy may open only ${limit}; kept ${config} and did not reload: raise the limit (systemd LimitNOFILE=${need} in HAProxy's unit, or ulimit -n ${need} where HAProxy is started)`,
    ExitCode.reloadFailed,
  );
}

async function fileDescriptorLimit({ reloader, runtime }: DeployOptions): Promise<number | undefined> {
  if (reloader.kind === "pid-file") return openFilesLimit("self");
  const socket = reloader.kind === "master-socket" ? reloader.value : runtime?.socket;
  const master = socket ? await showProc(socket) : undefined;
  if (master) return openFilesLimit(master.masterPid);
  return reloader.kind === "master-socket" ? openFilesLimit("self") : undefined;
}

/**
 * The runtime path: when only servers of existing backends changed, applies them over the Runtime
 * API, then installs the file (so a later reload or restart gives the same state) and records it.
 * Returns undefined once the commit is deployed so, else why it must be reloaded instead.
 * `previous` is the record of the installed file, undefined when mhc did not deploy that file.
 */
async function deployAtRuntime(
  target: Target,
  content: string,
  installed: string | undefined,
  previous: DeployRecord | undefined,
  next: DeployRecord,
): Promise<string | undefined> {
  const { options, config } = target;
  if (!options.runtime) return "--no-runtime";
  if (installed === undefined) return "nothing was installed before";
  if (!previous) return "the installed file is not the one mhc deployed last, so HAProxy may not run it";
  const plan = planServerChanges(installed, content);
  if (!plan.runtime) return plan.reason;
  const socket = runtimeSocket(options.runtime, options.reloader, installed);
  if (!socket) {
    return "no Runtime API socket (give --runtime-socket, or a `stats socket … level admin` in the config)";
  }
  // Fewer or as many checks as before cannot need more file descriptors (a large config takes tens of ms to count).
  if (addedChecks(plan) > 0) await checkFileDescriptors(target, content, next.commit.slice(0, 12));
  const outcome = await applyAtRuntime(socket, plan, options.runtime.drainTimeoutMs);
  if (!outcome.applied) {
    log.warn(`${outcome.reason}; reloading instead`);
    return outcome.reason;
  }
  // Records from before runtime deploys lack reloadedAt: the running HAProxy loaded the file then.
  const reloadedAt = previous.reloadedAt ?? (await stat(target.file)).mtime.toISOString();
  // A run stopped before this point leaves the old file: the next run's runtime changes then
  // collide with the servers already there, and it reloads.
  const candidate = await writeCandidate(target.file, content);
  try {
    await installCandidate(config, target.file, candidate, true);
  } finally {
    await discard(candidate);
  }
  await writeRecord(config, {
    ...next,
    deployedAt: new Date().toISOString(),
    applied: "runtime",
    appliedBecause: `only servers changed (${outcome.summary})`,
    reloadedAt,
  });
  target.tally.runtimeApplies++;
  log.info(`applied commit ${next.commit.slice(0, 12)} over the Runtime API (${outcome.summary}); no reload`);
  return undefined;
}

/** Health and agent checks the plan adds, less those it removes. */
function addedChecks(plan: Extract<ServerPlan, { runtime: true }>): number {
  const checks = (options: string[]) =>
    (options.includes("check") ? 1 : 0) + (options.includes("agent-check") ? 1 : 0);
  return plan.changes.reduce(
    (sum, { kind, server }) =>
      sum + (kind === "add" ? checks(server.options) : kind === "remove" ? -checks(server.options) : 0),
    0,
  );
}

/** How many listeners that cannot be bound an error names. */
const namedListeners = 5;

/** `haproxy -c`, then a test bind of the listeners the running config does not have yet. */
async function checkCandidate(
  { options, config }: Target,
  content: string,
  installed: string | undefined,
  short: string,
): Promise<void> {
  const candidate = await writeCandidate(config, content);
  try {
    const check = await checkConfig(candidate, options.haproxy);
    if (!check.valid) {
      throw new MhcError(
        `commit ${short}: ${options.path} is not a valid HAProxy config, kept ${config} and did not reload: ${firstAlert(check.output)}`,
        ExitCode.invalidConfig,
      );
    }
  } finally {
    await discard(candidate);
  }
  const unbindable = await unbindableListeners(content, installed);
  if (unbindable.length > 0) {
    // One line: a config whose thousands of ports are all taken must not print them all.
    const named = unbindable.slice(0, namedListeners).join(", ");
    const more = unbindable.length > namedListeners ? ` and ${unbindable.length - namedListeners} more` : "";
    throw new MhcError(
      `commit ${short} cannot load on this host: cannot bind ${named}${more}; kept ${config} and did not reload`,
      ExitCode.reloadFailed,
    );
  }
}

/**
 * Backup, marks the reload pending (a run killed from here on is completed by the next run),
 * installs atomically, reloads, and records; rolls back when the reload fails.
 */
async function install(
  target: Target,
  content: string,
  installed: string | undefined,
  next: DeployRecord,
): Promise<void> {
  const candidate = await writeCandidate(target.file, content);
  try {
    await markPending(target.config, next);
    await installCandidate(target.config, target.file, candidate, installed !== undefined);
  } catch (error) {
    await clearPending(target.config);
    throw error;
  } finally {
    await discard(candidate);
  }
  await reloadInstalled(target, next, installed);
}

/** An earlier run installed a config and was stopped before HAProxy loaded it: reload it now. */
async function completePendingReload(target: Target): Promise<void> {
  const pending = await readPending(target.config);
  if (!pending) return;
  const installed = await readIfExists(target.file);
  if (installed === undefined || sha256(installed) !== pending.sha256) {
    await clearPending(target.config); // stopped before the install: nothing to complete
    return;
  }
  log.info(
    `reloading HAProxy with commit ${pending.commit.slice(0, 12)}: an earlier run installed it but was stopped before HAProxy loaded it`,
  );
  const backup = await readIfExists(backupPath(target.config));
  if (backup !== installed) return reloadInstalled(target, pending, backup);
  // The pending config is the restored one: there is nothing older to go back to.
  const reloadedAt = new Date().toISOString();
  await reloadHaproxy(target, installed, backup);
  await writeRecord(target.config, { ...pending, deployedAt: new Date().toISOString(), reloadedAt });
  await clearPending(target.config);
}

/**
 * Saves the running servers' state where `loading` tells HAProxy to read it, then reloads onto the
 * installed file. `running` is the config the running HAProxy has (for its sockets).
 */
async function reloadHaproxy(target: Target, loading: string, running: string | undefined): Promise<void> {
  const { options, config } = target;
  if (options.runtime && running !== undefined) {
    await dumpServerState(runtimeSocket(options.runtime, options.reloader, running), loading, running);
  }
  log.info(await options.reloader.reload({ haproxy: options.haproxy, config, runningConfig: running }));
  target.tally.reloads++;
}

/**
 * Reloads HAProxy on the installed file and records `next` once that took. `before` is the config
 * the running HAProxy has, which the backup holds: a failed reload puts it back and reloads again.
 */
async function reloadInstalled(
  target: Target,
  next: DeployRecord,
  before: string | undefined,
): Promise<void> {
  const { config, file } = target;
  const short = next.commit.slice(0, 12);
  const reloadedAt = new Date().toISOString();
  try {
    await reloadHaproxy(target, await readTextFile(file), before);
  } catch (error) {
    throw await rollBack(target, before, `reload with commit ${short} failed: ${errorMessage(error)}`);
  }
  await writeRecord(config, { ...next, deployedAt: new Date().toISOString(), reloadedAt });
  await clearPending(config);
  log.debug(`recorded commit ${short} as loaded from ${file}`);
}

/** Puts the previous config back (or removes the new one when there was none) and reloads again. */
async function rollBack(target: Target, before: string | undefined, failure: string): Promise<MhcError> {
  const { config, file } = target;
  target.tally.rollbacks++;
  if (before === undefined) {
    await discard(file);
    await clearPending(config);
    return new MhcError(
      `${failure}; removed ${config} again (nothing was installed before)`,
      ExitCode.reloadFailed,
    );
  }
  await restoreBackup(config, file);
  const previous = await readRecord(config);
  try {
    await reloadHaproxy(target, before, before);
    await clearPending(config);
    return new MhcError(`${failure}; restored the previous config and reloaded it`, ExitCode.reloadFailed);
  } catch (error) {
    // HAProxy may now run neither config: the next run reloads the restored one.
    if (previous) await markPending(config, previous);
    else await clearPending(config);
    return new MhcError(
      `${failure}; restored the previous config, but reloading it failed too: ${errorMessage(error)}`,
      ExitCode.reloadFailed,
    );
  }
}
