import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import process from "node:process";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { log } from "../log.ts";
import { siblingTempPath } from "./files.ts";
import { bootId, isAlive, startTicks } from "./processes.ts";

export interface LockOptions {
  /** Who holds it, for the message: "another deploy", "another sync of this work dir". */
  holder: string;
  /** How long to wait for a live holder before giving up (ExitCode.locked); 0 fails at once. */
  waitMs?: number;
}

/**
 * An exclusive lock file holding the owner's pid, host, boot id and process start time, created with
 * link(2), which is atomic and never leaves a half-written lock behind. A lock left on this host by a
 * process that is gone is taken over: its pid is dead, the host rebooted since (another boot id), or
 * the pid now belongs to a process that started later (another start time). Returns the release function.
 */
export async function acquireLock(lockPath: string, options: LockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    try {
      return await tryAcquire(lockPath, options.holder);
    } catch (error) {
      if (!(error instanceof MhcError) || error.exitCode !== ExitCode.locked || Date.now() >= deadline)
        throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function tryAcquire(lockPath: string, holder: string): Promise<() => Promise<void>> {
  const owner = ownerLine(process.pid);
  const temp = siblingTempPath(lockPath, "new");
  try {
    await writeFile(temp, owner, { flag: "wx" });
  } catch (error) {
    throw new MhcError(`cannot create lock ${lockPath}: ${errorMessage(error)}`, ExitCode.io, {
      cause: error,
    });
  }
  try {
    if (!(await tryLink(temp, lockPath))) {
      await takeOverIfStale(lockPath, holder);
      if (!(await tryLink(temp, lockPath))) throw lockedError(lockPath, holder, await readOwner(lockPath));
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
  return async () => {
    // Only remove the lock if it is still ours.
    if ((await readFile(lockPath, "utf8").catch(() => "")) === owner) await unlink(lockPath).catch(() => {});
  };
}

/** `pid host [bootId startTicks]`; the last two are missing where there is no /proc. */
export function ownerLine(pid: number): string {
  const identity = [bootId(), startTicks(pid)];
  const known = identity.every((part) => part !== undefined);
  return `${[pid, hostname(), ...(known ? identity : [])].join(" ")}\n`;
}

async function tryLink(temp: string, lockPath: string): Promise<boolean> {
  try {
    await link(temp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new MhcError(`cannot create lock ${lockPath}: ${errorMessage(error)}`, ExitCode.io, {
      cause: error,
    });
  }
}

interface LockOwner {
  pid: number;
  host: string;
  bootId?: string;
  startTicks?: number;
  raw: string;
}

async function readOwner(lockPath: string): Promise<LockOwner | undefined> {
  const raw = await readFile(lockPath, "utf8").catch(() => undefined);
  if (raw === undefined) return undefined;
  const [pid = "", host = "", boot, ticks] = raw.trim().split(/\s+/);
  return {
    pid: Number.parseInt(pid, 10),
    host,
    bootId: boot,
    startTicks: ticks === undefined ? undefined : Number(ticks),
    raw,
  };
}

function lockedError(lockPath: string, holder: string, owner: LockOwner | undefined): MhcError {
  const who = owner ? `pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ""}` : "another process";
  return new MhcError(`${holder} is running (${who} holds ${lockPath})`, ExitCode.locked);
}

async function takeOverIfStale(lockPath: string, holder: string): Promise<void> {
  const owner = await readOwner(lockPath);
  if (!owner) return; // released meanwhile: the next link attempt decides
  // A lock from another host (shared filesystem) or held by a live owner is respected.
  if (owner.host !== hostname() || ownerIsAlive(owner)) throw lockedError(lockPath, holder, owner);
  // Move the stale lock aside atomically; if a concurrent deploy replaced it meanwhile, put theirs back.
  const aside = siblingTempPath(lockPath, "stale");
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (moved !== owner.raw) {
    await link(aside, lockPath).catch(() => {});
    await unlink(aside).catch(() => {});
    throw lockedError(lockPath, holder, await readOwner(lockPath));
  }
  await unlink(aside).catch(() => {});
  log.warn(`took over a stale lock ${lockPath} from pid ${owner.pid}, which is no longer running`);
}

/** The owner still runs: its pid is alive, in this boot, and was not reused by a later process. */
function ownerIsAlive(owner: LockOwner): boolean {
  if (!isAlive(owner.pid)) return false;
  const currentBoot = bootId();
  if (owner.bootId !== undefined && currentBoot !== undefined && owner.bootId !== currentBoot) return false;
  const ticks = startTicks(owner.pid);
  return owner.startTicks === undefined || ticks === undefined || owner.startTicks === ticks;
}
