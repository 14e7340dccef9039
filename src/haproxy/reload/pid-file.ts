import { existsSync } from "node:fs";
import { readIfExists } from "../../io/files.ts";
import { commandLine, isHaproxyOf, startedAtMs } from "../../io/processes.ts";
import { log } from "../../log.ts";
import { type DaemonStart, firstAlert, startDaemon } from "../binary.ts";
import { listenerSocket } from "../config.ts";
import {
  configArguments,
  newestStart,
  type ReloadContext,
  type ReloadStrategy,
  type RunningHaproxy,
  reloadFailed,
} from "./strategy.ts";

/**
 * Classic daemon reload: a new `haproxy -D` takes over and tells the old pids to finish softly
 * (`-sf`). When the running config exposes its listeners (`stats socket … expose-fd listeners`),
 * `-x` hands the very same listening sockets over, so no connection queued during the switch is reset.
 */
export const reloadWithPidFile: ReloadStrategy = {
  name: "pid-file",
  valueHint: "FILE",
  description: "Reload with haproxy -D -p FILE -sf <old pids> [-x socket]",
  select: (pidFile) => ({
    kind: "pid-file",
    value: pidFile,
    reload: (context) => reload(pidFile, context),
    probe: (haproxy) => probe(pidFile, haproxy),
  }),
};

async function probe(pidFile: string, haproxy: string): Promise<RunningHaproxy | undefined> {
  const pids = (await readPids(pidFile)).filter((pid) => isHaproxyOf(pid, pidFile, haproxy));
  if (pids.length === 0) return undefined;
  return {
    pids,
    startedAtMs: newestStart(pids, startedAtMs),
    configs: configArguments(commandLine(pids[0] as number)),
  };
}

async function reload(pidFile: string, { haproxy, config, runningConfig }: ReloadContext): Promise<string> {
  const oldPids = (await readPids(pidFile)).filter((pid) => isHaproxyOf(pid, pidFile, haproxy));
  const base = ["-D", "-f", config, "-p", pidFile];
  let result: DaemonStart;
  if (oldPids.length === 0) {
    result = await startDaemon(haproxy, base);
  } else {
    const softStop = ["-sf", ...oldPids.map(String)];
    const socket = runningConfig ? listenerSocket(runningConfig) : undefined;
    if (socket && existsSync(socket)) {
      result = await startDaemon(haproxy, [...base, "-x", socket, ...softStop]);
      if (result.code !== 0 && result.output.includes("Failed to get the sockets from the old process")) {
        log.warn(`HAProxy could not take the listeners over from ${socket}; reloading without -x`);
        result = await startDaemon(haproxy, [...base, ...softStop]);
      }
    } else {
      log.warn(
        "the running config has no `stats socket … expose-fd listeners`: without -x, connections queued during the reload can be reset",
      );
      result = await startDaemon(haproxy, [...base, ...softStop]);
    }
  }
  if (result.code !== 0) throw reloadFailed(`HAProxy did not start: ${firstAlert(result.output)}`);
  const newPids = (await readPids(pidFile)).filter(
    (pid) => !oldPids.includes(pid) && isHaproxyOf(pid, pidFile, haproxy),
  );
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
