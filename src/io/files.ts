import { randomBytes } from "node:crypto";
import { lstat, open, readdir, readFile, readlink, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { ownerGone } from "./temp.ts";

export async function readTextFile(path: string, what = "file"): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new MhcError(`cannot read ${what} ${path}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
}

/**
 * Reads a file, or undefined when it does not exist. Only a regular file (or a symlink to one) is
 * read: a fifo would block and a device is never a config, so both are refused (exit 8).
 */
export async function readIfExists(path: string): Promise<string | undefined> {
  return (await readBytesIfExists(path))?.toString("utf8");
}

/** readIfExists, as bytes (hashing bytes spares encoding a 10 MB text again). */
export async function readBytesIfExists(path: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(path)).isFile()) {
      throw new MhcError(`${path} is not a regular file; refusing to use it`, ExitCode.io);
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof MhcError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MhcError(`cannot read ${path}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
}

/** A temporary path in the same folder as `path`, so a rename onto it is atomic. */
export function siblingTempPath(path: string, tag = "tmp"): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** Folders and tags already swept by this process (once is enough: stale files come from dead runs). */
const sweptSiblings = new Set<string>();

/**
 * Removes the `siblingTempPath(path, tag)` files a run killed mid-write (SIGKILL, power loss) left
 * beside `path`, once per process: only those whose owner is gone (see ownerGone).
 */
export async function removeStaleSiblings(path: string, tag = "tmp"): Promise<void> {
  const prefix = `.${basename(path)}.${tag}-`;
  const folder = dirname(path);
  if (sweptSiblings.has(join(folder, prefix))) return;
  sweptSiblings.add(join(folder, prefix));
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    // A folder such as /tmp holds thousands of names: most are passed over by their prefix alone.
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length))?.[1]);
    const file = join(folder, name);
    if (Number.isInteger(pid) && (await ownerGone(pid, file))) await unlink(file).catch(() => {});
  }
}

/** The permissions of `path`, or 0o644 when it does not exist (a replacement keeps the original's). */
export async function modeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
}

/** Creates a new file (never overwrites) with `content`, flushed to disk before returning. */
export async function writeNewFileDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The file that writing `path` replaces: `path` itself, or for a symlink its final target, so the
 * link stays a link. Anything but a regular file (a device such as /dev/null, a fifo, a socket, a
 * folder) is refused, and so is a symlink to nothing: mhc never replaces what it cannot restore.
 */
export async function writeTarget(path: string): Promise<string> {
  const link = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new MhcError(`cannot write ${path}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  });
  if (!link) return path;
  let target = path;
  if (link.isSymbolicLink()) {
    try {
      target = await realpath(path);
    } catch {
      const to = await readlink(path).catch(() => "?");
      throw new MhcError(
        `${path} is a symlink to ${to}, which does not exist; create it or remove the link`,
        ExitCode.io,
      );
    }
  }
  if (!(await stat(target)).isFile()) {
    const what = target === path ? path : `${path} (a symlink to ${target})`;
    throw new MhcError(`${what} is not a regular file; refusing to replace it`, ExitCode.io);
  }
  return target;
}

/**
 * Writes `content` to `path` atomically (temp file in the same folder, fsync, rename); a symlink's
 * target is written instead (see writeTarget).
 * When the file already holds exactly this content it is not touched at all, not even its mtime.
 * A caller that has just read the file passes what it read as `current`, so it is not read twice.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  current?: string,
): Promise<"written" | "unchanged"> {
  const target = await writeTarget(path);
  current ??= await readIfExists(target);
  if (current === content) return "unchanged";
  await removeStaleSiblings(target);
  const temp = siblingTempPath(target);
  try {
    await writeNewFileDurably(temp, content, await modeOf(target));
    await rename(temp, target);
    return "written";
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new MhcError(`cannot write ${path}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
}
