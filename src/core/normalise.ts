import { isIP } from "node:net";
import {
  type LabelResult,
  parseBalance,
  parseBindAddress,
  parseBool,
  parseCheckPath,
  parseGroups,
  parseMode,
  parsePaths,
  parsePort,
  parseVhosts,
  parseWeight,
  portLabelNames,
} from "./labels.ts";
import type {
  Dropped,
  ExcludedTask,
  HealthCheck,
  Mode,
  Model,
  RenderOptions,
  Server,
  Service,
} from "./model.ts";
import type { MarathonApp, MarathonHealthCheck, MarathonTask, Snapshot } from "./snapshot.ts";

/** Where a task's address for one service port comes from. */
interface PortSpec {
  index: number;
  servicePort: number;
  /** Index into `task.ports`, when this port is reached on the agent's host. */
  hostPortIndex?: number;
  /** Container port, when this port is reached on the task's own IP (IP-per-task). */
  containerPort?: number;
  requiredPort?: number;
}

type NetworkMode = "host" | "bridge" | "container";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const isPort = (p: unknown): p is number =>
  typeof p === "number" && Number.isInteger(p) && p >= 1 && p <= 65535;

function sanitiseName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function networkMode(app: MarathonApp): NetworkMode {
  const modes = (app.networks ?? []).map((n) => n?.mode);
  if (modes.includes("container/bridge")) return "bridge";
  if (modes.includes("container")) return "container";
  if (modes.length > 0) return "host";
  const dockerNetwork = app.container?.docker?.network?.toUpperCase();
  if (dockerNetwork === "BRIDGE") return "bridge";
  if (dockerNetwork === "USER" || app.ipAddress) return "container";
  return "host";
}

/** Service ports and how to reach each, for Marathon 1.4 and 1.5+ shapes alike. */
function portSpecs(app: MarathonApp, mode: NetworkMode): PortSpec[] {
  if (mode === "host") {
    const definitions = app.portDefinitions?.map((d) => d?.port) ?? app.ports ?? [];
    return definitions.map((port, index) => ({
      index,
      servicePort: isPort(port) ? port : 0,
      hostPortIndex: index,
      requiredPort: app.requirePorts && isPort(port) ? port : undefined,
    }));
  }
  const mappings = app.container?.portMappings ?? app.container?.docker?.portMappings;
  if (mappings) {
    let hostPorts = 0;
    return mappings.map((mapping, index) => {
      const usesHostPort = mode === "bridge" || typeof mapping?.hostPort === "number";
      const spec: PortSpec = {
        index,
        servicePort: isPort(mapping?.servicePort) ? mapping.servicePort : 0,
        ...(usesHostPort
          ? { hostPortIndex: hostPorts }
          : { containerPort: mapping?.containerPort ?? undefined }),
      };
      if (usesHostPort) hostPorts++;
      return spec;
    });
  }
  // Marathon 1.4 IP-per-task: discovery ports on the task's IP; service ports come from portDefinitions, if any.
  const discovery = app.ipAddress?.discovery?.ports ?? [];
  const servicePorts = app.portDefinitions?.map((d) => d?.port) ?? app.ports ?? [];
  return discovery.map((port, index) => ({
    index,
    servicePort: isPort(servicePorts[index]) ? (servicePorts[index] as number) : 0,
    containerPort: port?.number ?? undefined,
  }));
}

function healthCheckFor(app: MarathonApp, portIndex: number): MarathonHealthCheck | undefined {
  return (app.healthChecks ?? []).find((check) => {
    if (!check) return false;
    const index = check.portIndex ?? (check.port == null ? 0 : undefined);
    return index === portIndex;
  });
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.round(value) : fallback;
}

function translateHealthCheck(check: MarathonHealthCheck | undefined): LabelResult<HealthCheck | undefined> {
  const protocol = check?.protocol?.toUpperCase();
  if (!check || !protocol) return { ok: true, value: undefined };
  const timing = {
    intervalSeconds: positiveInt(check.intervalSeconds, 60),
    timeoutSeconds: positiveInt(check.timeoutSeconds, 20),
    // Marathon's 0 means "never kill"; HAProxy still needs a count, so use its default.
    fall: positiveInt(check.maxConsecutiveFailures, 3),
  };
  if (protocol === "TCP" || protocol === "MESOS_TCP") {
    return { ok: true, value: { kind: "tcp", tls: false, path: "/", ...timing } };
  }
  if (["HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"].includes(protocol)) {
    const path = parseCheckPath(check.path);
    if (!path.ok) return { ok: false, reason: `health check path ${path.reason}` };
    return {
      ok: true,
      value: { kind: "http", tls: protocol.endsWith("HTTPS"), path: path.value, ...timing },
    };
  }
  return { ok: true, value: undefined }; // COMMAND and unknown protocols: HAProxy's plain connect check.
}

/** Marathon's own id rules (path segments of letters, digits, dots and dashes), since ids reach the config. */
const validAppId = /^(\/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)+$/;

const validHost = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/** A task's reason to be left out, or undefined when it may be a server. */
function exclusionReason(task: MarathonTask, options: RenderOptions): string | undefined {
  // Marathon before 1.3 reported no state; a started task it listed was running.
  const state = task.state ?? (task.startedAt ? "TASK_RUNNING" : "unknown");
  const running = state === "TASK_RUNNING" || (options.keepUnreachable && state === "TASK_UNREACHABLE");
  if (!running) return `state ${state}`;
  // No results (a new task, or any task right after a Marathon leader failover) is not "unhealthy":
  // the server stays and HAProxy's own checks decide, so health data vanishing never empties a backend.
  let results = 0;
  for (const result of task.healthCheckResults ?? []) {
    if (!result) continue;
    if (result.alive === true) return undefined;
    results++;
  }
  return results > 0 ? "Marathon health checks failing" : undefined;
}

/**
 * What one normalise() call learned about each host name or IP: whether it is usable, and the
 * sanitised host part of server names. A cluster has far fewer agents and addresses than tasks ×
 * ports, so each is checked once.
 */
type HostCheck = { usable: false } | { usable: true; namePrefix: string };
type HostChecks = (host: string, ipOnly: boolean) => HostCheck;

function hostChecks(): HostChecks {
  const known = new Map<string, HostCheck>();
  return (host, ipOnly) => {
    const key = ipOnly ? `ip:${host}` : host;
    let check = known.get(key);
    if (check === undefined) {
      const usable = isIP(host) !== 0 || (!ipOnly && validHost.test(host));
      check = usable ? { usable, namePrefix: sanitiseName(host) } : { usable };
      known.set(key, check);
    }
    return check;
  };
}

/** The server a task gives for one port, or why it gives none. */
function taskServer(task: MarathonTask, spec: PortSpec, checkHost: HostChecks): Server | string {
  let host: string;
  let port: number | null | undefined;
  if (spec.containerPort !== undefined) {
    const ip = (task.ipAddresses ?? []).find((a) => a?.ipAddress)?.ipAddress;
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
  return { name: `${check.namePrefix}_${port}`, host, port, taskId: task.id ?? "(no id)" };
}

function compareServers(a: Server, b: Server): number {
  return compare(a.host, b.host) || a.port - b.port;
}

interface AppContext {
  app: MarathonApp;
  labels: Record<string, unknown>;
  /** `HAPROXY_{n}_NAME` labels by port index n, then NAME: looked up per port without building names. */
  portLabels: Map<number, Map<string, unknown>>;
  /** Why each of `app.tasks` is left out whatever the port (state, health), or undefined. */
  taskExclusions: (string | undefined)[];
  warn: (message: string) => void;
  /** Records a port left out for a reason the commit message should give. */
  drop: (portIndex: number, reason: string) => void;
  checkHost: HostChecks;
}

function label<T>(
  ctx: AppContext,
  name: string,
  parse: (v: unknown) => LabelResult<T>,
): LabelResult<T | undefined> {
  if (!(name in ctx.labels)) return { ok: true, value: undefined };
  const result = parse(ctx.labels[name]);
  return result.ok ? result : { ok: false, reason: `label ${name} ${result.reason}` };
}

function matchesGroups(wanted: string[], groups: string[]): boolean {
  if (wanted.length === 0 || wanted.includes("*")) return true;
  return groups.some((g) => wanted.includes(g));
}

/** The result of reading a label that is not set (shared: most labels of most ports are not set). */
const absent: LabelResult<undefined> = { ok: true, value: undefined };

/** Builds one service (app × service port), or explains why the port is not exposed. */
function buildService(
  ctx: AppContext,
  spec: PortSpec,
  appGroups: string[],
  options: RenderOptions,
  excluded: Map<string, ExcludedTask>,
): Service | undefined {
  const { app, warn } = ctx;
  const n = spec.index;
  const refuse = (reason: string) => {
    warn(`app ${app.id} port index ${n} skipped: ${reason}`);
    ctx.drop(n, reason);
    return undefined;
  };
  const labelsOfPort = ctx.portLabels.get(n);
  const read = <T>(name: string, parse: (v: unknown) => LabelResult<T>): LabelResult<T | undefined> => {
    if (!labelsOfPort?.has(name)) return absent;
    const result = parse(labelsOfPort.get(name));
    return result.ok ? result : { ok: false, reason: `label HAPROXY_${n}_${name} ${result.reason}` };
  };

  const groups = read("GROUP", parseGroups);
  if (!groups.ok) return refuse(groups.reason);
  if (!matchesGroups(options.groups, groups.value ?? appGroups)) return undefined;
  const enabled = read("ENABLED", parseBool);
  if (!enabled.ok) return refuse(enabled.reason);
  if (enabled.value === false) return undefined;

  const labels = {
    mode: read("MODE", parseMode),
    port: read("PORT", parsePort),
    bindAddress: read("BIND_ADDR", parseBindAddress),
    balance: read("BALANCE", parseBalance),
    vhosts: read("VHOST", parseVhosts),
    paths: read("PATH", parsePaths),
    weight: read("BACKEND_WEIGHT", parseWeight),
  };
  for (const result of Object.values(labels)) if (!result.ok) return refuse(result.reason);
  const value = <T>(r: LabelResult<T | undefined>) => (r.ok ? r.value : undefined);

  const bindPort = value(labels.port) ?? spec.servicePort;
  if (!bindPort) return undefined; // no service port: nothing to bind, like the original script
  const check = translateHealthCheck(healthCheckFor(app, n));
  if (!check.ok) return refuse(check.reason);

  let vhosts = value(labels.vhosts) ?? [];
  let paths = value(labels.paths) ?? [];
  const routed = vhosts.length > 0 || paths.length > 0;
  const checkIsPlainHttp = check.value?.kind === "http" && !check.value.tls;
  const mode: Mode = value(labels.mode) ?? (routed || checkIsPlainHttp ? "http" : "tcp");
  if (routed && mode === "tcp") {
    warn(
      `app ${app.id} port index ${n}: VHOST/PATH ignored because MODE is tcp (routing by Host needs http)`,
    );
    vhosts = [];
    paths = [];
  }

  const candidates: Server[] = [];
  const tasks = app.tasks ?? [];
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    if (!task || ctx.taskExclusions[i] !== undefined) continue;
    const server = taskServer(task, spec, ctx.checkHost);
    if (typeof server === "string") {
      const taskId = task.id ?? "(no id)";
      const key = `${app.id}\u0000${taskId}\u0000${server}`;
      if (!excluded.has(key)) excluded.set(key, { appId: app.id, taskId, reason: server });
      continue;
    }
    candidates.push(server);
  }
  // Sorted by address; two tasks on the same address:port are one server.
  candidates.sort(compareServers);
  const servers = candidates.filter(
    (s, i) => i === 0 || compareServers(candidates[i - 1] as Server, s) !== 0,
  );

  const appPath = app.id.replace(/^\/+/, "");
  return {
    appId: app.id,
    portIndex: n,
    servicePort: spec.servicePort,
    name: sanitiseName(`${appPath.replace(/\//g, "_")}_${spec.servicePort || bindPort}`),
    bindAddress: value(labels.bindAddress) ?? "*",
    bindPort,
    mode,
    balance: value(labels.balance) ?? "roundrobin",
    vhosts,
    paths,
    backendWeight: value(labels.weight) ?? 0,
    ...(check.value ? { healthCheck: check.value } : {}),
    servers,
  };
}

const wildcardAddresses = new Set(["*", "0.0.0.0", "::"]);

function bindsOverlap(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  if (a.port !== b.port) return false;
  return a.address === b.address || wildcardAddresses.has(a.address) || wildcardAddresses.has(b.address);
}

/**
 * Drops services whose bind address:port is already taken: the stats listener and the shared HTTP
 * frontend first, then services in (app id, port index) order, so the first one keeps it.
 */
function resolveBindConflicts(
  services: Service[],
  options: RenderOptions,
  warn: (m: string) => void,
  drop: (dropped: Dropped) => void,
): Service[] {
  // Binds taken so far, by port (only the same port can overlap), each list in the order taken.
  const reserved = new Map<number, { address: string; port: number; owner: string }[]>();
  const reserve = (address: string, port: number, owner: string) => {
    const onPort = reserved.get(port);
    if (onPort) onPort.push({ address, port, owner });
    else reserved.set(port, [{ address, port, owner }]);
  };
  if (options.statsPort > 0) reserve(options.statsBindAddress, options.statsPort, "the stats listener");
  if (services.some((s) => s.vhosts.length > 0 || s.paths.length > 0)) {
    reserve(options.httpBindAddress, options.httpPort, "the shared HTTP frontend");
  }
  const kept: Service[] = [];
  const names = new Set<string>();
  for (const service of services) {
    const bind = { address: service.bindAddress, port: service.bindPort };
    const taken = reserved.get(bind.port)?.find((r) => bindsOverlap(r, bind));
    const conflict = taken
      ? `${bind.address}:${bind.port} is already bound by ${taken.owner}`
      : names.has(service.name)
        ? `name ${service.name} is already used`
        : undefined;
    if (conflict) {
      warn(`app ${service.appId} port index ${service.portIndex} skipped: ${conflict}`);
      drop({ appId: service.appId, portIndex: service.portIndex, reason: conflict });
      continue;
    }
    names.add(service.name);
    reserve(bind.address, bind.port, `app ${service.appId} port index ${service.portIndex}`);
    kept.push(service);
  }
  return kept;
}

/** Marathon snapshot → services and servers. Pure: the same snapshot and options give the same model. */
export function normalise(snapshot: Snapshot, options: RenderOptions): Model {
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const excluded = new Map<string, ExcludedTask>();
  const dropped: Dropped[] = [];
  const unsupported = new Map<string, number>();
  const candidates: Service[] = [];
  const seenIds = new Set<string>();
  const checkHost = hostChecks();

  const apps = [...snapshot.apps].sort((a, b) => compare(a.id, b.id));
  for (const app of apps) {
    if (!validAppId.test(app.id)) {
      warn(`app ${JSON.stringify(app.id)} skipped: not a valid Marathon app id`);
      continue;
    }
    if (seenIds.has(app.id)) {
      warn(`app ${app.id} appears twice in the snapshot; the second copy is ignored`);
      continue;
    }
    seenIds.add(app.id);
    const labels = app.labels && typeof app.labels === "object" ? app.labels : {};
    const portLabels = new Map<number, Map<string, unknown>>();
    for (const name of Object.keys(labels)) {
      const match = /^HAPROXY_(\d+)_(.+)$/.exec(name);
      if (!match) continue;
      const [, index, labelName] = match as unknown as [string, string, string];
      if (portLabelNames.includes(labelName)) {
        const ofPort = portLabels.get(Number(index)) ?? new Map<string, unknown>();
        ofPort.set(labelName, labels[name]);
        portLabels.set(Number(index), ofPort);
      } else {
        const generic = `HAPROXY_{n}_${labelName}`;
        unsupported.set(generic, (unsupported.get(generic) ?? 0) + 1);
      }
    }
    const taskExclusions = (app.tasks ?? []).map((task) =>
      task ? exclusionReason(task, options) : undefined,
    );
    const drop = (portIndex: number, reason: string) => dropped.push({ appId: app.id, portIndex, reason });
    const ctx: AppContext = { app, labels, portLabels, taskExclusions, warn, drop, checkHost };
    const appGroups = label(ctx, "HAPROXY_GROUP", parseGroups);
    if (!appGroups.ok) {
      warn(`app ${app.id} skipped: ${appGroups.reason}`);
      dropped.push({ appId: app.id, portIndex: null, reason: appGroups.reason });
      continue;
    }
    let rendered = false;
    for (const spec of portSpecs(app, networkMode(app))) {
      const service = buildService(ctx, spec, appGroups.value ?? [], options, excluded);
      if (service) candidates.push(service);
      rendered ||= service !== undefined;
    }
    // Tasks left out whatever the port are reported once, for apps that are rendered at all.
    if (rendered) {
      taskExclusions.forEach((reason, i) => {
        if (reason === undefined) return;
        const taskId = app.tasks?.[i]?.id ?? "(no id)";
        excluded.set(`${app.id}\u0000${taskId}\u0000${reason}`, { appId: app.id, taskId, reason });
      });
    }
  }
  for (const [name, count] of [...unsupported].sort(([a], [b]) => compare(a, b))) {
    warn(`label ${name} is not supported by mhc and was ignored (${count} app${count === 1 ? "" : "s"})`);
  }
  const services = resolveBindConflicts(candidates, options, warn, (d) => dropped.push(d));
  const excludedList = [...excluded.values()].sort(
    (a, b) => compare(a.appId, b.appId) || compare(a.taskId, b.taskId) || compare(a.reason, b.reason),
  );
  dropped.sort((a, b) => compare(a.appId, b.appId) || (a.portIndex ?? -1) - (b.portIndex ?? -1));
  return { services, excluded: excludedList, dropped, warnings };
}
