import { copyFile, rename, unlink } from "node:fs/promises";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { modeOf, siblingTempPath, writeNewFileDurably } from "../io/files.ts";
import { backupPath } from "./record.ts";

/**
 * Writes the candidate config in the target's folder (same filesystem, so installing it is a
 * rename) with the installed file's permissions, which may protect secrets such as stats passwords.
 */
export async function writeCandidate(config: string, content: string): Promise<string> {
  const candidate = siblingTempPath(config, "mhc-candidate");
  try {
    await writeNewFileDurably(candidate, content, await modeOf(config));
    return candidate;
  } catch (error) {
    await discard(candidate);
    throw new MhcError(
      `cannot write the candidate config next to ${config}: ${errorMessage(error)}`,
      ExitCode.io,
      {
        cause: error,
      },
    );
  }
}

/** Keeps the installed config as `<config>.bak`, then renames the checked candidate over it. */
export async function installCandidate(
  config: string,
  candidate: string,
  hasInstalled: boolean,
): Promise<void> {
  try {
    if (hasInstalled) await copyAtomic(config, backupPath(config));
    await rename(candidate, config);
  } catch (error) {
    throw new MhcError(`cannot install ${config}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
}

/** Puts the backup back in place (the backup itself stays). */
export async function restoreBackup(config: string): Promise<void> {
  try {
    await copyAtomic(backupPath(config), config);
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
