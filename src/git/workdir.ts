import { createHash } from "node:crypto";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { addSecret } from "../log.ts";

/**
 * What sync's clone and deploy's cache share: where they live by default, how mhc recognises a
 * folder as its own (a marker file, so a foreign one is never deleted), and folder errors that name
 * the option to change.
 */

/** `$XDG_CACHE_HOME/mhc/<kind>/<hash of key>` (else `~/.cache/…`). */
export function cacheDir(kind: "sync" | "deploy", key: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "mhc", kind, createHash("sha256").update(key).digest("hex").slice(0, 16));
}

/** A password in a repo URL is registered as a secret, so no log or error shows it. */
export function registerCredentials(repo: string): void {
  try {
    const { password } = new URL(repo);
    addSecret(password);
    addSecret(decodeURIComponent(password));
  } catch {
    // not a URL: a path or scp-like address carries no password
  }
}

export type FolderState = "absent" | "empty" | "owned" | "foreign";

/** Whether `dir` may be (re)created by mhc: it is missing, empty, or holds mhc's marker. */
export async function folderState(dir: string, marker: string, option: string): Promise<FolderState> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "absent";
    throw folderError(`cannot read ${dir}`, option, error);
  }
  if (entries.length === 0) return "empty";
  const owned = await stat(join(dir, marker)).then(
    (s) => s.isFile(),
    () => false,
  );
  return owned ? "owned" : "foreign";
}

/** Deletes and re-creates a folder mhc owns (checked by the caller with folderState). */
export async function recreateFolder(dir: string, option: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    throw folderError(`cannot delete ${dir}`, option, error);
  }
  await makeFolder(dir, option);
}

export async function makeFolder(dir: string, option: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw folderError(`cannot create ${dir}`, option, error);
  }
}

/** An I/O error on a folder mhc chose, naming the path and the option that moves it (exit 8). */
export function folderError(what: string, option: string, error: unknown): MhcError {
  const code = (error as NodeJS.ErrnoException).code;
  const denied = code === "EACCES" || code === "EPERM" || code === "EROFS";
  const why = denied ? "permission denied" : errorMessage(error);
  return new MhcError(`${what}: ${why} (${option} chooses another place)`, ExitCode.io, { cause: error });
}
