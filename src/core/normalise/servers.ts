import { isIP } from "node:net";
import type { ExcludedTask, RenderOptions, Server } from "../model.ts";
import type { MarathonApp, MarathonTask } from "../snapshot.ts";
import { isPort, type PortSpec } from "./ports.ts";
import { sanitiseName } from "./services.ts";

/** Pass 3, servers: which tasks may serve, and the server each gives for one service port. */

const validHost = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/**
 * A task's reason to be left out whatever the port (state, health), or undefined when it may serve.
 * `healthyOnly` (--health-check, for an app with health checks): a task without results is left out too.
 */
export function taskExclusion(
  task: MarathonTask,
  options: Pick<RenderOptions, "keepUnreachable"> & { healthyOnly?: boolean },
): string | undefined {
  // Marathon before 1.3 reported no state; a started task it listed was running.
  const state = task.state ?? (task.startedAt ? "TASK_RUNNING" : "unknown");
  // TASK_LOST is what Marathon before 1.4 reported for an unreachable agent: one policy for both.
  const running =
    state === "TASK_RUNNING" ||
    (options.keepUnreachable && (state === "TASK_UNREACHABLE" || state === "TASK_LOST"));
  // The state is Marathon's text: quoted unless a plain word, so it cannot add a line to a commit.
  if (!running) return `state ${/^[A-Za-z_]+$/.test(state) ? state : JSON.stringify(state)}`;
  // No results (a new task, or any task right after a Marathon leader failover) is not "unhealthy":
  // the server stays and HAProxy's own checks decide, so health data vanishing never empties a backend.
  let results = 0;
  for (const result of task.healthCheckResults ?? []) {
    if (!result) continue;
    if (result.alive === true) return undefined;
    results++;
  }
  if (results > 0) return "Marathon health checks failing";
  return options.healthyOnly ? "no Marathon health result yet (--health-check)" : undefined;
}

/**
 * What one normalise() call learned about each host name or IP: whether it is usable, and the
 * sanitised host part of server names. A cluster has far fewer agents and addresses than tasks ×
 * ports, so each is checked once. An IPv6 zone id (`fe80::1%eth0`) is not usable: HAProxy cannot
 * resolve it.
 */
type HostCheck = { usable: false } | { usable: true; namePrefix: string };
export type HostChecks = (host: string, ipOnly: boolean) => HostCheck;

export function hostChecks(): HostChecks {
  // One map per kind, keyed by the host itself: no key string is built per task.
  const hosts = new Map<string, HostCheck>();
  const ips = new Map<string, HostCheck>();
  return (host, ipOnly) => {
    const known = ipOnly ? ips : hosts;
    let check = known.get(host);
    if (check === undefined) {
      const usable = (isIP(host) !== 0 && !host.includes("%")) || (!ipOnly && validHost.test(host));
      check = usable ? { usable, namePrefix: sanitiseName(host) } : { usable };
      known.set(host, check);
    }
    return check;
  };
}

/** The first IP address Marathon lists for a task, if any. */
function firstIp(task: MarathonTask): string | undefined {
  const addresses = task.ipAddresses;
  if (!addresses) return undefined;
  for (let i = 0; i < addresses.length; i++) {
    const ip = addresses[i]?.ipAddress;
    if (ip) return ip;
  }
  return undefined;
}

/** The server a task gives for one port, or why it gives none. */
export function taskServer(task: MarathonTask, spec: PortSpec, checkHost: HostChecks): Server | string {
  let host: string;
  let port: number | null | undefined;
  if (spec.containerPort !== undefined) {
    const ip = firstIp(task);
    if (!ip) return "no IP address for an IP-per-task port";
    host = ip;
    port = spec.containerPort;
    if (!isPort(port)) return `no container port for port index ${spec.index}`;
  } else {
    if (!task.host) return "no host";
    host = task.host;
    port = task.ports?.[spec.hostPortIndex ?? spec.index] ?? spec.requiredPort;
  }
  const check = checkHost(host, spec.containerPort !== undefined);
  if (!check.usable)
    return `invalid ${spec.containerPort !== undefined ? "IP address" : "host"} ${JSON.stringify(host)}`;
  if (!isPort(port)) return `no host port for port index ${spec.index}`;
  return { name: `${check.namePrefix}_${port}`, host, port, taskId: task.id ?? "(no id)", draining: false };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareServers(a: Server, b: Server): number {
  return compare(a.host, b.host) || a.port - b.port;
}

/**
 * The servers of one service port: sorted by address, one per address:port. Names are unique
 * without a check: usable hosts are IPv4, IPv6 without a zone id, or host names of letters, digits,
 * dots and dashes, so sanitising (only IPv6's `:` becomes `_`) never maps two hosts to one prefix,
 * and the port after the last `_` is digits only. Tasks without an address for this port are
 * recorded in `excluded`. With `checkSpec`, each server is checked on its task's port of that spec.
 */
export function serversFor(
  app: MarathonApp,
  spec: PortSpec,
  taskExclusions: readonly (string | undefined)[],
  checkHost: HostChecks,
  excluded: Map<string, ExcludedTask>,
  checkSpec?: PortSpec,
  draining?: ReadonlySet<MarathonTask>,
): Server[] {
  const candidates: Server[] = [];
  const tasks = app.tasks ?? [];
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    if (!task || taskExclusions[i] !== undefined) continue;
    const server = taskServer(task, spec, checkHost);
    if (typeof server === "string") {
      const taskId = task.id ?? "(no id)";
      const key = `${app.id}\u0000${taskId}\u0000${server}`;
      if (!excluded.has(key)) excluded.set(key, { appId: app.id, taskId, reason: server });
      continue;
    }
    if (checkSpec) {
      // BACKEND_HEALTHCHECK_PORT_INDEX: the same task's port of another index.
      const checked = taskServer(task, checkSpec, checkHost);
      if (typeof checked !== "string" && checked.host === server.host) server.checkPort = checked.port;
    }
    if (draining?.has(task)) server.draining = true;
    candidates.push(server);
  }
  candidates.sort(compareServers);
  // Two tasks on one address:port are one server: drop the repeats in place.
  let kept = 0;
  for (let i = 0; i < candidates.length; i++) {
    const server = candidates[i] as Server;
    if (kept === 0 || compareServers(candidates[kept - 1] as Server, server) !== 0)
      candidates[kept++] = server;
  }
  candidates.length = kept;
  return candidates;
}
