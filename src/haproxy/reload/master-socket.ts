import { commandLine, startedAtMs } from "../../io/processes.ts";
import { firstAlert, startDaemon } from "../binary.ts";
import { type ProcState, showProc } from "../master-cli.ts";
import { socketCommand } from "../socket.ts";
import {
  configArguments,
  newestStart,
  type ReloadContext,
  type ReloadStrategy,
  type RunningHaproxy,
  reloadFailed,
} from "./strategy.ts";

const newWorkerTimeoutMs = 30_000;

/**
 * Master-worker mode: the master re-executes itself on `reload` and hands the listening sockets to
 * the new worker over its internal socketpair (HAProxy ≥ 2.x passes `-x sockpair@…` by itself), so
 * the config needs no stats socket for a seamless reload. Success = a worker with a new pid appears;
 * a refused config shows up as a higher `[failed: N]` count while the old worker keeps serving.
 */
export const reloadWithMasterSocket: ReloadStrategy = {
  name: "master-socket",
  valueHint: "SOCKET",
  description: "Reload through HAProxy's master CLI (master-worker mode)",
  select: (socket) => ({
    kind: "master-socket",
    value: socket,
    reload: (context) => reload(socket, context),
    probe: () => probe(socket),
  }),
};

async function probe(socket: string): Promise<RunningHaproxy | undefined> {
  const state = await showProc(socket);
  if (!state) return undefined;
  return {
    pids: state.workerPids,
    startedAtMs: newestStart(state.workerPids, startedAtMs),
    configs: configArguments(commandLine(state.masterPid)),
  };
}

async function reload(socket: string, { haproxy, config }: ReloadContext): Promise<string> {
  const before = await showProc(socket);
  if (!before) {
    const result = await startDaemon(haproxy, ["-W", "-D", "-S", `${socket},mode,600`, "-f", config]);
    if (result.code !== 0) throw reloadFailed(`HAProxy did not start: ${firstAlert(result.output)}`);
    const started = await pollProc(socket, (state) => state.workerPids.length > 0);
    if (!started) throw reloadFailed(`HAProxy started but its master CLI ${socket} shows no worker`);
    return `started HAProxy master ${started.masterPid} (worker ${started.workerPids.join(" ")})`;
  }
  // The master re-executes itself and may drop this connection before answering: that is fine.
  await socketCommand(socket, "reload").catch(() => "");
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
