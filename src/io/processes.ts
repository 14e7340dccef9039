import { readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";

/** Whether a pid is a live process (a zombie counts as dead; EPERM means alive but not ours). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = statFields(pid)?.[0];
  return state !== "Z" && state !== "X";
}

/** The fields of /proc/PID/stat after the command name (state first), or undefined without /proc. */
function statFields(pid: number): string[] | undefined {
  return procFile(`/proc/${pid}/stat`)
    ?.replace(/^.*\)\s+/s, "")
    .split(/\s+/);
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat). Together with the
 * boot id it tells a process from a later one that got the same pid.
 */
export function startTicks(pid: number): number | undefined {
  const ticks = Number(statFields(pid)?.[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/** This boot's random id (changes with every reboot), or undefined without /proc. */
export function bootId(): string | undefined {
  return procFile("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
}

/** Linux reports process start times in USER_HZ, which is 100 on every architecture it supports. */
const ticksPerSecond = 100;

/**
 * When a process started (ms since the epoch, to about 10 ms): its start ticks against the uptime,
 * which /proc gives in hundredths of a second (the boot time in /proc/stat is whole seconds only).
 */
export function startedAtMs(pid: number): number | undefined {
  const uptimeSeconds = Number(procFile("/proc/uptime")?.split(" ")[0]);
  const ticks = startTicks(pid);
  if (!Number.isFinite(uptimeSeconds) || ticks === undefined) return undefined;
  return Date.now() - (uptimeSeconds - ticks / ticksPerSecond) * 1000;
}

/** Ticks are 10 ms and the clock may be stepped a little: allow for that against a file's mtime. */
const startTimeSlackMs = 2_000;

/**
 * Whether `pid` from `pidFile` is the HAProxy that wrote it: alive, its executable (/proc/PID/exe) is
 * the HAProxy binary `bin`, and it did not start after the pid file was written (a later process
 * got the pid of one that died). Anything that cannot be verified, for example without /proc, counts
 * as not running: signalling an unrelated process is worse than starting a new HAProxy.
 */
export function isHaproxyOf(pid: number, pidFile: string, bin: string): boolean {
  if (!isAlive(pid)) return false;
  const executable = readLink(`/proc/${pid}/exe`)?.replace(/ \(deleted\)$/, "");
  const expected = resolveBinary(bin);
  if (!executable || !expected || executable !== expected) return false;
  const started = startedAtMs(pid);
  const written = fileMtimeMs(pidFile);
  return started !== undefined && written !== undefined && started <= written + startTimeSlackMs;
}

/** The real path of a binary given as a path or looked up on PATH, as /proc/PID/exe shows it. */
function resolveBinary(bin: string): string | undefined {
  const candidates = bin.includes("/")
    ? [bin]
    : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, bin));
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) return realpathSync(candidate);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** A process's argv, or an empty list when it cannot be read. */
export function commandLine(pid: number): string[] {
  return (procFile(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
}

function fileMtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function procFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
