import { tmpdir } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { checkRef, normaliseRepo } from "../git/fetch.ts";
import { gitIn, gitReason } from "../git/git.ts";
import { log, redact } from "../log.ts";
import { type DeployOptions, deploy } from "./deploy.ts";
import { readPending } from "./record.ts";

export interface WatchOptions {
  /** Between two `ls-remote` calls; each wait is jittered by ±20 % so a fleet does not ask in step. */
  intervalMs: number;
}

/**
 * `mhc deploy --watch`: asks the remote for the branch's commit every interval (`git ls-remote`,
 * cheap) and deploys when it moved. A deploy fetches the branch, so commits missed in between are
 * never replayed one by one: the newest one is deployed. The lock is taken per deploy only, so a
 * one-shot `mhc deploy` or `--status` can run between two. SIGTERM/SIGINT let the running deploy
 * finish, then mhc exits 0.
 */
export async function watchDeploy(options: DeployOptions, watch: WatchOptions): Promise<void> {
  const repo = normaliseRepo(options.repo);
  const ref = checkRef(options.ref);
  if (/^[0-9a-f]{40}$/i.test(ref)) {
    throw new MhcError(`--watch follows a branch or tag; --ref ${ref} is a commit`, ExitCode.usage);
  }
  const config = resolve(options.config);
  const stop = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (stop.signal.aborted) return;
    log.info(`${name} received: stopping after the running deploy, if any`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  log.info(`watching ${ref} of ${redact(repo)} every ${watch.intervalMs / 1000} s`);
  /** The remote commit handled last: deployed, or refused as a candidate (held until a newer one). */
  let handled: string | undefined;
  let nextPendingTry = 0;
  try {
    while (!stop.signal.aborted) {
      const remoteCommit = await remoteHead(repo, ref, options.gitTimeoutMs).catch((error) => {
        log.warn(`${errorMessage(error)}; asking again in ${watch.intervalMs / 1000} s`);
        return undefined;
      });
      // A reload left pending (a rollback whose reload failed too) is completed without a new
      // commit, tried at most every 30 s while it keeps failing.
      const pending = Date.now() >= nextPendingTry && (await readPending(config)) !== undefined;
      if (remoteCommit !== undefined && (remoteCommit !== handled || pending)) {
        if (pending) nextPendingTry = Date.now() + pendingRetryMs;
        handled = await attempt(options, remoteCommit);
      }
      await sleep(jittered(watch.intervalMs), stop.signal);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  log.info("stopped");
}

const pendingRetryMs = 30_000;

/** One deploy; returns the remote commit when it is done with (deployed or refused), else undefined to retry. */
async function attempt(options: DeployOptions, remoteCommit: string): Promise<string | undefined> {
  try {
    await deploy(options);
    return remoteCommit;
  } catch (error) {
    log.error(errorMessage(error));
    // A refused candidate is held until a newer commit; anything else (git, lock, files) is retried.
    const refused =
      error instanceof MhcError &&
      (error.exitCode === ExitCode.invalidConfig || error.exitCode === ExitCode.reloadFailed);
    return refused ? remoteCommit : undefined;
  }
}

/** The commit `ref` points to on the remote: a branch, else a tag (peeled). */
export async function remoteHead(repo: string, ref: string, timeoutMs?: number): Promise<string> {
  const listed = await gitIn(tmpdir(), { timeoutMs }).run(["ls-remote", "--", repo, ref]);
  if (!listed.ok) {
    throw new MhcError(
      `cannot list ${ref} of ${redact(repo)}: ${gitReason(listed.stderr || listed.stdout)}`,
      ExitCode.git,
    );
  }
  const refs = new Map(
    listed.stdout
      .split("\n")
      .map((line) => line.split("\t"))
      .filter((fields) => fields.length === 2)
      .map(([commit, name]) => [name as string, commit as string]),
  );
  const commit =
    refs.get(`refs/heads/${ref}`) ??
    refs.get(`refs/tags/${ref}^{}`) ??
    refs.get(`refs/tags/${ref}`) ??
    refs.get(ref);
  if (!commit) throw new MhcError(`${ref} does not exist in ${redact(repo)}`, ExitCode.git);
  return commit;
}

/** ±20 %: a fleet started at once spreads out instead of asking the git server in step. */
const jittered = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}
