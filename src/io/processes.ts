import { readFileSync } from "node:fs";
import process from "node:process";

/** Whether a pid is a live process (a zombie counts as dead; EPERM means alive but not ours). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = procFile(pid, "stat")?.replace(/^.*\)\s+/s, "")[0];
  return state !== "Z" && state !== "X";
}

/**
 * Whether a pid is a live HAProxy. Where /proc exists, the command line must mention haproxy, so
 * a stale pid file whose pid was reused by another program never gets signalled by `-sf`.
 */
export function isHaproxy(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const cmdline = procFile(pid, "cmdline");
  return cmdline === undefined ? true : cmdline.includes("haproxy");
}

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, "utf8");
  } catch {
    return undefined;
  }
}
