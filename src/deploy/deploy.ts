import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { checkRef, defaultDeployCache, fetchConfig, normaliseRepo } from "../git/fetch.ts";
import { readIfExists } from "../io/files.ts";
import { checkConfig, firstAlert } from "../io/haproxy.ts";
import { acquireLock } from "../io/lock.ts";
import { log, redact } from "../log.ts";
import { discard, installCandidate, restoreBackup, writeCandidate } from "./install.ts";
import { lockPath, readRecord, sha256, writeRecord } from "./record.ts";
import { type ReloadMode, reload } from "./reload.ts";

export interface DeployOptions {
  repo: string;
  ref: string;
  /** Path of the config inside the repository. */
  path: string;
  /** The installed HAProxy config, e.g. /etc/haproxy/haproxy.cfg. */
  config: string;
  mode: ReloadMode;
  haproxy: string;
  workdir?: string;
  /** Deadline of each git call (`--git-timeout`). */
  gitTimeoutMs?: number;
}

/**
 * fetch → compare → `haproxy -c` → atomic install with backup → reload → check → record.
 * Every failure after the install puts the previous config back and reloads it.
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
    const { commit, content } = await fetchConfig({
      repo,
      ref,
      path: options.path,
      workdir: options.workdir ? resolve(options.workdir) : defaultDeployCache(repo, config),
      gitTimeoutMs: options.gitTimeoutMs,
    });
    const short = commit.slice(0, 12);
    const installed = await readIfExists(config);
    const previous = await readRecord(config);
    const record = {
      commit,
      ref,
      path: options.path,
      repo: redact(repo),
      sha256: sha256(content),
      reload: options.mode.kind,
    };

    if (installed === content) {
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

    log.info(`deploying commit ${short} (${options.path} at ${ref})`);
    const candidate = await writeCandidate(config, content);
    try {
      const check = await checkConfig(candidate, options.haproxy);
      if (!check.valid) {
        throw new MhcError(
          `commit ${short}: ${options.path} is not a valid HAProxy config, kept ${config} and did not reload: ${firstAlert(check.output)}`,
          ExitCode.invalidConfig,
        );
      }
      await installCandidate(config, candidate, installed !== undefined);
    } finally {
      await discard(candidate);
    }

    try {
      log.info(await reload(options.mode, { haproxy: options.haproxy, config, runningConfig: installed }));
    } catch (error) {
      throw await rollBack(
        options,
        config,
        installed,
        `reload with commit ${short} failed: ${errorMessage(error)}`,
      );
    }
    await writeRecord(config, {
      ...record,
      deployedAt: new Date().toISOString(),
      previousCommit:
        previous && installed !== undefined && previous.sha256 === sha256(installed) ? previous.commit : null,
    });
  } finally {
    await release();
  }
}

/** Puts the previous config back (or removes the new one when there was none) and reloads again. */
async function rollBack(
  options: DeployOptions,
  config: string,
  installed: string | undefined,
  failure: string,
): Promise<MhcError> {
  if (installed === undefined) {
    await discard(config);
    return new MhcError(
      `${failure}; removed ${config} again (nothing was installed before)`,
      ExitCode.reloadFailed,
    );
  }
  await restoreBackup(config);
  try {
    await reload(options.mode, { haproxy: options.haproxy, config, runningConfig: installed });
    return new MhcError(`${failure}; restored the previous config and reloaded it`, ExitCode.reloadFailed);
  } catch (error) {
    return new MhcError(
      `${failure}; restored the previous config, but reloading it failed too: ${errorMessage(error)}`,
      ExitCode.reloadFailed,
    );
  }
}
