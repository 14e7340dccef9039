import { open, readFile, unlink } from "node:fs/promises";
import process from "node:process";
import { ExitCode, MhcError } from "../errors.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * An exclusive lock file holding the owner's pid (O_EXCL create). A lock whose owner is dead is
 * stale and taken over. Waits up to `waitMs` for a live owner, then fails with ExitCode.locked.
 */
export async function acquireLock(path: string, what: string, waitMs = 0): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new MhcError(`cannot create lock ${path}: ${(error as Error).message}`, ExitCode.io);
      }
    }
    const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      // Stale (dead owner, or a half-written file): remove it and try again at once.
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      throw new MhcError(`${what} is locked by running process ${owner} (${path})`, ExitCode.locked);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
