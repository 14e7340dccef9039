import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { ExitCode, MhcError } from "../errors.ts";
import { runCommand } from "../io/command.ts";
import { readIfExists } from "../io/files.ts";
import { firstAlert } from "../io/haproxy.ts";
import { isHaproxy } from "../io/processes.ts";
import { log } from "../log.ts";
import { masterCommand, type ProcState, showProc } from "./master-cli.ts";

/** How HAProxy learns about a new config; exactly one is chosen on the command line. */
export type ReloadMode =
  | { kind: "pid-file"; pidFile: string }
  | { kind: "reload-cmd"; argv: string[] }
  | { kind: "master-socket"; socket: string };

export interface ReloadContext {
  haproxy: string;
  /** The installed config HAProxy must (re)load. */
  config: string;
  /** Text of the config the running HAProxy was started from, when known (for `-x`). */
  runningConfig?: string;
}

const startTimeoutMs = 60_000;
const newWorkerTimeoutMs = 30_000;

/** Reloads (or first starts) HAProxy and checks that it took; returns what happened, for the log. */
export function reload(mode: ReloadMode, context: ReloadContext): Promise<string> {
  switch (mode.kind) {
    case "pid-file":
      return reloadWithPidFile(mode.pidFile, context);
    case "reload-cmd":
      return reloadWithCommand(mode.argv);
    case "master-socket":
      return reloadWithMasterSocket(mode.socket, context);
  }
}

function reloadFailed(reason: string): MhcError {
  return new MhcError(reason, ExitCode.reloadFailed);
}

/**
 * Classic daemon reload: a new `haproxy -D` takes over and tells the old pids to finish softly
 * (`-sf`). When the running config exposes its listeners (`stats socket … expose-fd listeners`),
 * `-x` hands the very same listening sockets over, so no connection queued during the switch is reset.
 */
async function reloadWithPidFile(
  pidFile: string,
  { haproxy, config, runningConfig }: ReloadContext,
): Promise<string> {
  const oldPids = (await readPids(pidFile)).filter(isHaproxy);
  const base = ["-D", "-f", config, "-p", pidFile];
  let result: HaproxyRun;
  if (oldPids.length === 0) {
    result = await runHaproxy(haproxy, base);
  } else {
    const softStop = ["-sf", ...oldPids.map(String)];
    const socket = runningConfig ? listenerSocket(runningConfig) : undefined;
    if (socket && existsSync(socket)) {
      result = await runHaproxy(haproxy, [...base, "-x", socket, ...softStop]);
      if (result.code !== 0 && result.output.includes("Failed to get the sockets from the old process")) {
        log.warn(`HAProxy could not take the listeners over from ${socket}; reloading without -x`);
        result = await runHaproxy(haproxy, [...base, ...softStop]);
      }
    } else {
      log.warn(
        "the running config has no `stats socket … expose-fd listeners`: without -x, connections queued during the reload can be reset",
      );
      result = await runHaproxy(haproxy, [...base, ...softStop]);
    }
  }
  if (result.code !== 0) throw reloadFailed(`HAProxy did not start: ${firstAlert(result.output)}`);
  const newPids = (await readPids(pidFile)).filter((pid) => !oldPids.includes(pid) && isHaproxy(pid));
  if (newPids.length === 0)
    throw reloadFailed(`HAProxy started but no new process is running (see ${pidFile})`);
  return oldPids.length === 0
    ? `started HAProxy (pid ${newPids.join(" ")})`
    : `reloaded HAProxy: pid ${newPids.join(" ")} replaces ${oldPids.join(" ")}`;
}

async function readPids(pidFile: string): Promise<number[]> {
  const text = (await readIfExists(pidFile)) ?? "";
  return text
    .split(/\s+/)
    .filter((word) => /^\d+$/.test(word))
    .map(Number);
}

/** The unix path of a `stats socket … expose-fd listeners` line, if the config has one. */
function listenerSocket(configText: string): string | undefined {
  for (const line of configText.split("\n")) {
    const match = /^\s*stats\s+socket\s+(\S+)\s.*\bexpose-fd\s+listeners\b/.exec(line);
    const address = match?.[1]?.replace(/^unix@/, "");
    if (address && !address.includes("@")) return address;
  }
  return undefined;
}

/** An operator's command (e.g. `systemctl reload-or-restart haproxy`), run directly: no shell. */
async function reloadWithCommand(argv: string[]): Promise<string> {
  await runCommand(argv, "reload command", startTimeoutMs);
  return `ran ${argv.join(" ")}`;
}

/**
 * Master-worker mode: the master re-executes itself on `reload` and hands the listening sockets to
 * the new worker over its internal socketpair (HAProxy ≥ 2.x passes `-x sockpair@…` by itself), so
 * the config needs no stats socket for a seamless reload. Success = a worker with a new pid appears;
 * a refused config shows up as a higher `[failed: N]` count while the old worker keeps serving.
 */
async function reloadWithMasterSocket(socket: string, { haproxy, config }: ReloadContext): Promise<string> {
  const before = await showProc(socket);
  if (!before) {
    const result = await runHaproxy(haproxy, ["-W", "-D", "-S", `${socket},mode,600`, "-f", config]);
    if (result.code !== 0) throw reloadFailed(`HAProxy did not start: ${firstAlert(result.output)}`);
    const started = await pollProc(socket, (state) => state.workerPids.length > 0);
    if (!started) throw reloadFailed(`HAProxy started but its master CLI ${socket} shows no worker`);
    return `started HAProxy master ${started.masterPid} (worker ${started.workerPids.join(" ")})`;
  }
  // The master re-executes itself and may drop this connection before answering: that is fine.
  await masterCommand(socket, "reload").catch(() => "");
  const after = await pollProc(
    socket,
    (state) =>
      state.failedReloads > before.failedReloads ||
      state.workerPids.some((pid) => !before.workerPids.includes(pid)),
  );
  if (!after) throw reloadFailed(`no new HAProxy worker appeared within ${newWorkerTimeoutMs / 1000} s`);
  if (after.failedReloads > before.failedReloads) {
    throw reloadFailed(
      "HAProxy's master refused the new config and kept the old worker (HAProxy's log says why)",
    );
  }
  const fresh = after.workerPids.filter((pid) => !before.workerPids.includes(pid));
  return `reloaded HAProxy master ${after.masterPid}: new worker ${fresh.join(" ")}`;
}

async function pollProc(socket: string, done: (state: ProcState) => boolean): Promise<ProcState | undefined> {
  const deadline = Date.now() + newWorkerTimeoutMs;
  while (Date.now() < deadline) {
    const state = await showProc(socket);
    if (state && done(state)) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

interface HaproxyRun {
  code: number | null;
  output: string;
}

/**
 * Runs a daemonising HAProxy (`-D`): the foreground process exits once the new one is up, with a
 * non-zero code when it could not start. Should a daemon keep our pipes open, exit still ends the wait.
 */
function runHaproxy(bin: string, args: string[]): Promise<HaproxyRun> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const killer = setTimeout(() => child.kill("SIGKILL"), startTimeoutMs);
    let exitCode: number | null = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(killer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code: exitCode, output: output.trim() });
    };
    child.on("error", (error) => {
      output += error.message;
      finish();
    });
    child.on("exit", (code) => {
      exitCode = code;
      setTimeout(finish, 2_000).unref();
    });
    child.on("close", finish);
  });
}
