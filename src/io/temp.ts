import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { isAlive, startedAtMs } from "./processes.ts";

/** A process start time is known to about 10 ms and the clock may be stepped: allow for that. */
const startTimeSlackMs = 2_000;

/** Prefixes whose stale folders this process has already removed (once is enough). */
const swept = new Set<string>();

/**
 * A new private folder `<prefix>-<pid>-XXXXXX` in the system's temp folder, for the caller to
 * remove. A process killed with SIGKILL cannot remove its own, so the first call for a prefix
 * removes the folders of that prefix whose owner is gone: its pid is dead, or now belongs to a
 * process that started after the folder was last written (the pid was reused).
 */
export async function ownedTempDir(prefix: string): Promise<string> {
  if (!swept.has(prefix)) {
    swept.add(prefix);
    await removeStale(prefix);
  }
  return mkdtemp(join(tmpdir(), `${prefix}-${process.pid}-`));
}

/**
 * Whether the process `pid` that made `path` (a temp file or folder named after it) is gone: dead,
 * or its pid now belongs to a process that started after `path` was last written. A path that
 * cannot be read is left alone.
 */
export async function ownerGone(pid: number, path: string): Promise<boolean> {
  const written = await stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (written === undefined || pid === process.pid) return false;
  if (!isAlive(pid)) return true;
  const started = startedAtMs(pid);
  return started !== undefined && started > written + startTimeSlackMs;
}

async function removeStale(prefix: string): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const pid = Number(/^(\d+)-[^-]+$/.exec(name.slice(prefix.length + 1))?.[1]);
    const path = join(tmpdir(), name);
    // Another user's folder cannot be removed (the sticky bit): it stays, and so does this run.
    if (Number.isInteger(pid) && (await ownerGone(pid, path)))
      await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}
