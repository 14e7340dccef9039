import { copyFile, link, rename, unlink } from "node:fs/promises";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { modeOf, removeStaleSiblings, siblingTempPath, writeNewFileDurably } from "../io/files.ts";
import { backupPath } from "./record.ts";

/**
 * Writes the candidate config in the folder of `file` (same filesystem, so installing it is a
 * rename) with the installed file's permissions, which may protect secrets such as stats passwords.
 */
export async function writeCandidate(file: string, content: string): Promise<string> {
  await removeStaleSiblings(file, "mhc-candidate");
  const candidate = siblingTempPath(file, "mhc-candidate");
  try {
    await writeNewFileDurably(candidate, content, await modeOf(file));
    return candidate;
  } catch (error) {
    await discard(candidate);
    throw new MhcError(
      `cannot write the candidate config next to ${file}: ${errorMessage(error)}`,
      ExitCode.io,
      {
        cause: error,
      },
    );
  }
}

/**
 * Keeps the installed config as `<config>.bak`, then renames the checked candidate over `file`
 * (the config, or its target when the config is a symlink, which stays a symlink).
 */
export async function installCandidate(
  config: string,
  file: string,
  candidate: string,
  hasInstalled: boolean,
): Promise<void> {
  try {
    if (hasInstalled) await keepAsBackup(file, backupPath(config));
    await rename(candidate, file);
  } catch (error) {
    throw new MhcError(`cannot install ${config}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
}

/** Puts the backup back in place at `file` (the backup itself stays). */
export async function restoreBackup(config: string, file: string): Promise<void> {
  try {
    await copyAtomic(backupPath(config), file);
  } catch (error) {
    throw new MhcError(
      `cannot restore ${backupPath(config)} to ${config}: ${errorMessage(error)}`,
      ExitCode.io,
      {
        cause: error,
      },
    );
  }
}

export async function discard(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/**
 * The installed file becomes the backup by a hard link, not a 10 MB copy: mhc never writes a config
 * in place (it renames a new file over it), so once the candidate is renamed over `file`, the old
 * file lives on only as the backup. Where a link is not possible (another filesystem), a copy.
 */
async function keepAsBackup(file: string, backup: string): Promise<void> {
  const temp = siblingTempPath(backup);
  try {
    await link(file, temp).catch(() => copyFile(file, temp));
    await rename(temp, backup);
  } catch (error) {
    await discard(temp);
    throw error;
  }
}

/** copyFile keeps the source's permissions; the rename makes the replacement atomic. */
async function copyAtomic(from: string, to: string): Promise<void> {
  const temp = siblingTempPath(to);
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } catch (error) {
    await discard(temp);
    throw error;
  }
}
