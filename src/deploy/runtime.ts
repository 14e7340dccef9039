import { errorMessage } from "../errors.ts";
import { adminSocket, serverStateFile } from "../haproxy/config.ts";
import {
  applyServerChanges,
  openRuntimeApi,
  type RuntimeApi,
  removeDrained,
  runtimeMismatch,
} from "../haproxy/runtime-api.ts";
import {
  configServers,
  planServerChanges,
  type ServerLine,
  type ServerPlan,
} from "../haproxy/server-changes.ts";
import { writeFileAtomic } from "../io/files.ts";
import { log } from "../log.ts";

export interface RuntimeSettings {
  /** --runtime-socket; else the master socket of --master-socket; else the config's admin stats socket. */
  socket?: string;
  /** How long removed servers may keep their sessions before they are cut (--drain-timeout). */
  drainTimeoutMs: number;
}

/** The socket the Runtime API is reached on, if any: given, the master CLI, or the config's. */
export function runtimeSocket(
  settings: RuntimeSettings,
  reloader: { kind: string; value: string },
  configText: string | undefined,
): string | undefined {
  if (settings.socket) return settings.socket;
  if (reloader.kind === "master-socket") return reloader.value;
  return configText === undefined ? undefined : adminSocket(configText);
}

/** What happened to the changes: applied and read back, or why they must be reloaded instead. */
export type RuntimeOutcome = { applied: true; summary: string } | { applied: false; reason: string };

/**
 * Applies a runtime-only plan: new, moved and re-weighted servers at once, removed ones drained and
 * deleted once their sessions end (or cut after the drain timeout); then reads every changed
 * backend back. Any Runtime API error or difference from the file is a reason to reload.
 */
export async function applyAtRuntime(
  socket: string,
  plan: Extract<ServerPlan, { runtime: true }>,
  drainTimeoutMs: number,
): Promise<RuntimeOutcome> {
  let api: RuntimeApi;
  try {
    api = await openRuntimeApi(socket);
  } catch (error) {
    return {
      applied: false,
      reason: `the Runtime API at ${socket} does not answer (${errorMessage(error)})`,
    };
  }
  try {
    await applyServerChanges(api, plan.changes);
    const removed = plan.changes.filter((c) => c.kind === "remove").map((c) => c.server);
    const cut = removed.length > 0 ? await removeDrained(api, removed, drainTimeoutMs) : 0;
    if (cut > 0) log.warn(`${cut} drained server(s) still had sessions after the drain timeout; cut them`);
    const mismatch = await runtimeMismatch(api, plan.backends);
    if (mismatch)
      return {
        applied: false,
        reason: `the runtime state differs from the file after applying: ${mismatch}`,
      };
  } catch (error) {
    return { applied: false, reason: `the Runtime API refused a change: ${errorMessage(error)}` };
  }
  return { applied: true, summary: summarise(plan) };
}

/**
 * For `render -o FILE --runtime-socket`: applies the change from `running` to `candidate` over the
 * Runtime API when only servers changed; else says why the reload command must run instead.
 */
export async function applyChangeAtRuntime(
  running: string,
  candidate: string,
  socket: string,
  drainTimeoutMs: number,
): Promise<RuntimeOutcome> {
  const plan = planServerChanges(running, candidate);
  if (!plan.runtime) return { applied: false, reason: plan.reason };
  return applyAtRuntime(socket, plan, drainTimeoutMs);
}

function summarise(plan: Extract<ServerPlan, { runtime: true }>): string {
  const counts = new Map<string, number>();
  for (const change of plan.changes) counts.set(change.kind, (counts.get(change.kind) ?? 0) + 1);
  const parts = [...counts].map(([kind, n]) => `${n} ${verbs[kind] ?? kind}`);
  return parts.length > 0 ? parts.join(", ") : "server lines reordered";
}

const verbs: Record<string, string> = {
  add: "added",
  remove: "removed",
  move: "moved",
  weight: "re-weighted",
  state: "enabled/disabled",
};

/**
 * Before a reload: dumps the running servers' state to the `server-state-file` the config to be
 * loaded names, so health, weights and maintenance survive the reload. Best effort: a failure is
 * logged and the reload goes on.
 */
export async function dumpServerState(
  socket: string | undefined,
  configText: string,
  runningText: string,
): Promise<void> {
  const file = serverStateFile(configText);
  if (!file || !socket) return;
  try {
    const api = await openRuntimeApi(socket);
    const state = await api.run("show servers state");
    if (!/^# be_id/m.test(state)) throw new Error(state.split("\n")[0] || "no answer");
    await writeFileAtomic(file, `${keepUnchangedServers(state, configText, runningText)}\n`);
  } catch (error) {
    log.debug(`server state not saved to ${file} before the reload: ${errorMessage(error)}`);
  }
}

/**
 * Only servers at the same address and port in the running config's file and in the one to load
 * keep their state; the others start afresh from the file. HAProxy 2.6 would apply a saved port
 * even where the new file moved the server, and a server only added at runtime by a run that did
 * not finish could keep the maintenance it was added in.
 */
function keepUnchangedServers(state: string, configText: string, runningText: string): string {
  const loading = configServers(configText);
  const running = configServers(runningText);
  const same = (a?: ServerLine, b?: ServerLine) =>
    a !== undefined && b !== undefined && a.host === b.host && a.port === b.port;
  const lines = state.split("\n");
  const columns = (lines.find((l) => l.startsWith("# be_id")) ?? "").slice(2).split(" ");
  const at = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? "";
  return lines
    .filter((line) => {
      if (!/^\d+ /.test(line) || line.split(" ").length < 5) return true;
      const fields = line.split(" ");
      const key = `${at(fields, "be_name")}/${at(fields, "srv_name")}`;
      const server = loading.get(key);
      const host = at(fields, "srv_fqdn") === "-" ? at(fields, "srv_addr") : at(fields, "srv_fqdn");
      return (
        same(server, running.get(key)) &&
        server?.host === host &&
        String(server.port) === at(fields, "srv_port")
      );
    })
    .join("\n");
}
