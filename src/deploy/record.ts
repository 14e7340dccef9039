import { createHash } from "node:crypto";
import { unlink } from "node:fs/promises";
import { readIfExists, writeFileAtomic } from "../io/files.ts";

/** What `mhc deploy` leaves beside the config (`<config>.mhc-deploy.json`): the config HAProxy loaded last. */
export interface DeployRecord {
  commit: string;
  ref: string;
  path: string;
  /** The repository, credentials removed. */
  repo: string;
  /** sha256 of the installed config, to notice hand edits. */
  sha256: string;
  deployedAt: string;
  /** The reload strategy's name and its flag's value (pid file, command, socket). */
  reload: string;
  reloadWith: string | null;
  /** The commit that was installed before this one (now in the backup), if mhc installed it. */
  previousCommit: string | null;
  /** How HAProxy took this config: `runtime` (servers changed over the Runtime API) or `reload`. */
  applied?: "runtime" | "reload";
  /** Why that way, in one line. */
  appliedBecause?: string;
  /** When HAProxy last (re)loaded a file through mhc; a runtime deploy keeps the earlier time. */
  reloadedAt?: string;
}

/** A candidate HAProxy could not load (`<config>.mhc-deploy-failed.json`); not tried again until a newer commit. */
export interface FailedCandidate {
  commit: string;
  sha256: string;
  /** The exit code of the run that failed, repeated while the host is held on the older commit. */
  exitCode: number;
  reason: string;
  failedAt: string;
}

const recordPath = (config: string) => `${config}.mhc-deploy.json`;
/** Exists from before the install until the reload took; holds the record to write then. */
export const pendingPath = (config: string) => `${config}.mhc-reload-pending.json`;
export const failedPath = (config: string) => `${config}.mhc-deploy-failed.json`;
export const backupPath = (config: string) => `${config}.bak`;
export const lockPath = (config: string) => `${config}.mhc-deploy.lock`;

export const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

async function readJson<T>(path: string, valid: (value: T) => boolean): Promise<T | undefined> {
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as T;
    return value && valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const writeJson = (path: string, value: unknown) =>
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
const remove = (path: string) => unlink(path).catch(() => {});
const isRecord = (record: DeployRecord) =>
  typeof record.commit === "string" && typeof record.sha256 === "string";

export const readRecord = (config: string) => readJson<DeployRecord>(recordPath(config), isRecord);
export const writeRecord = (config: string, record: DeployRecord) => writeJson(recordPath(config), record);

export const readPending = (config: string) => readJson<DeployRecord>(pendingPath(config), isRecord);
export const markPending = (config: string, record: DeployRecord) => writeJson(pendingPath(config), record);
export const clearPending = (config: string) => remove(pendingPath(config));

export const readFailure = (config: string) =>
  readJson<FailedCandidate>(failedPath(config), (f) => typeof f.commit === "string");
export const writeFailure = (config: string, failure: FailedCandidate) =>
  writeJson(failedPath(config), failure);
export const clearFailure = (config: string) => remove(failedPath(config));
