import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ExitCode, type ExitCodeValue, errorMessage, MhcError } from "../errors.ts";
import { checkRef, defaultDeployCache, fetchConfig, normaliseRepo } from "../git/fetch.ts";
import { checkConfig, firstAlert } from "../haproxy/binary.ts";
import { unbindableListeners } from "../haproxy/preflight.ts";
import type { Reloader } from "../haproxy/reload/strategy.ts";
import { readIfExists, writeTarget } from "../io/files.ts";
import { acquireLock } from "../io/lock.ts";
import { log, redact } from "../log.ts";
import { discard, installCandidate, restoreBackup, writeCandidate } from "./install.ts";
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
  /** Deadline of each git call (`--git-timeout`). */
  gitTimeoutMs?: number;
}

/** The installed config as mhc sees it: the path given, the file written (a symlink's target). */
interface Target {
  options: DeployOptions;
  config: string;
  file: string;
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
  try {
    const target: Target = { options, config, file: await writeTarget(config) };
    // Before the fetch: a remote outage must not keep HAProxy on a config it has not loaded.
    await completePendingReload(target);
    const { commit, content } = await fetchConfig({
      repo,
      ref,
      path: options.path,
      workdir: options.workdir ? resolve(options.workdir) : defaultDeployCache(repo, config),
      gitTimeoutMs: options.gitTimeoutMs,
    });
    const short = commit.slice(0, 12);
    const installed = await readIfExists(target.file);
    const previous = await readRecord(config);
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
      previousCommit:
        previous && installed !== undefined && previous.sha256 === sha256(installed) ? previous.commit : null,
    };
    try {
      await checkCandidate(target, content, installed, short);
      await install(target, content, installed, next);
    } catch (error) {
      if (error instanceof MhcError && refusesCandidate(error)) {
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
  } finally {
    await release();
  }
}

/** Failures that are the candidate's own: trying the same commit again would fail the same way. */
const refusesCandidate = (error: MhcError) =>
  error.exitCode === ExitCode.invalidConfig || error.exitCode === ExitCode.reloadFailed;

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
    throw new MhcError(
      `commit ${short} cannot load on this host: cannot bind ${unbindable.join(", ")}; kept ${config} and did not reload`,
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
  log.info(await target.options.reloader.reload(reloadContext(target, backup)));
  await writeRecord(target.config, { ...pending, deployedAt: new Date().toISOString() });
  await clearPending(target.config);
}

const reloadContext = ({ options, config }: Target, runningConfig: string | undefined) => ({
  haproxy: options.haproxy,
  config,
  runningConfig,
});

/**
 * Reloads HAProxy on the installed file and records `next` once that took. `before` is the config
 * the running HAProxy has, which the backup holds: a failed reload puts it back and reloads again.
 */
async function reloadInstalled(
  target: Target,
  next: DeployRecord,
  before: string | undefined,
): Promise<void> {
  const { options, config, file } = target;
  const short = next.commit.slice(0, 12);
  try {
    log.info(await options.reloader.reload(reloadContext(target, before)));
  } catch (error) {
    throw await rollBack(target, before, `reload with commit ${short} failed: ${errorMessage(error)}`);
  }
  await writeRecord(config, { ...next, deployedAt: new Date().toISOString() });
  await clearPending(config);
  log.debug(`recorded commit ${short} as loaded from ${file}`);
}

/** Puts the previous config back (or removes the new one when there was none) and reloads again. */
async function rollBack(target: Target, before: string | undefined, failure: string): Promise<MhcError> {
  const { options, config, file } = target;
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
    await options.reloader.reload(reloadContext(target, before));
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
