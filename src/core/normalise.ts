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
import type { ExcludedTask, HealthCheck, Mode, Model, RenderOptions, Server, Service } from "./model.ts";
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

export function sanitiseName(text: string): string {
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

interface TaskVerdict {
  eligible: boolean;
  reason?: string;
}

function judgeTask(task: MarathonTask, options: RenderOptions): TaskVerdict {
  // Marathon before 1.3 reported no state; a started task it listed was running.
  const state = task.state ?? (task.startedAt ? "TASK_RUNNING" : "unknown");
  const running = state === "TASK_RUNNING" || (options.keepUnreachable && state === "TASK_UNREACHABLE");
  if (!running) return { eligible: false, reason: `state ${state}` };
  const results = (task.healthCheckResults ?? []).filter(Boolean);
  // No results (a new task, or any task right after a Marathon leader failover) is not "unhealthy":
  // the server stays and HAProxy's own checks decide, so health data vanishing never empties a backend.
  if (results.length > 0 && !results.some((r) => r?.alive === true)) {
    return { eligible: false, reason: "Marathon health checks failing" };
  }
  return { eligible: true };
}

function taskAddress(task: MarathonTask, spec: PortSpec): { host: string; port: number } | string {
  if (spec.containerPort !== undefined) {
    const ip = (task.ipAddresses ?? []).find((a) => a?.ipAddress)?.ipAddress;
    if (!ip) return "no IP address for an IP-per-task port";
    if (isIP(ip) === 0) return `invalid IP address ${JSON.stringify(ip)}`;
    if (!isPort(spec.containerPort)) return `no container port for port index ${spec.index}`;
    return { host: ip, port: spec.containerPort };
  }
  const host = task.host;
  if (!host) return "no host";
  if (isIP(host) === 0 && !validHost.test(host)) return `invalid host ${JSON.stringify(host)}`;
  const port = task.ports?.[spec.hostPortIndex ?? spec.index] ?? spec.requiredPort;
  if (!isPort(port)) return `no host port for port index ${spec.index}`;
  return { host, port };
}

function compareServers(a: Server, b: Server): number {
  return compare(a.host, b.host) || a.port - b.port;
}

interface AppContext {
  app: MarathonApp;
  labels: Record<string, unknown>;
  warn: (message: string) => void;
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
    return undefined;
  };
  const read = <T>(name: string, parse: (v: unknown) => LabelResult<T>) =>
    label(ctx, `HAPROXY_${n}_${name}`, parse);

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

  const servers = new Map<string, Server>();
  for (const task of app.tasks ?? []) {
    if (!task) continue;
    const taskId = task.id ?? "(no id)";
    const verdict = judgeTask(task, options);
    const address = verdict.eligible ? taskAddress(task, spec) : (verdict.reason ?? "excluded");
    if (typeof address === "string") {
      const key = `${app.id}\u0000${taskId}\u0000${address}`;
      if (!excluded.has(key)) excluded.set(key, { appId: app.id, taskId, reason: address });
      continue;
    }
    const name = sanitiseName(`${address.host}_${address.port}`);
    if (!servers.has(name)) servers.set(name, { name, host: address.host, port: address.port, taskId });
  }

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
    servers: [...servers.values()].sort(compareServers),
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
): Service[] {
  const reserved: { address: string; port: number; owner: string }[] = [];
  if (options.statsPort > 0)
    reserved.push({
      address: options.statsBindAddress,
      port: options.statsPort,
      owner: "the stats listener",
    });
  if (services.some((s) => s.vhosts.length > 0 || s.paths.length > 0)) {
    reserved.push({
      address: options.httpBindAddress,
      port: options.httpPort,
      owner: "the shared HTTP frontend",
    });
  }
  const kept: Service[] = [];
  const names = new Set<string>();
  for (const service of services) {
    const bind = { address: service.bindAddress, port: service.bindPort };
    const taken = reserved.find((r) => bindsOverlap(r, bind));
    if (taken) {
      warn(
        `app ${service.appId} port index ${service.portIndex} skipped: ${bind.address}:${bind.port} is already bound by ${taken.owner}`,
      );
      continue;
    }
    if (names.has(service.name)) {
      warn(
        `app ${service.appId} port index ${service.portIndex} skipped: name ${service.name} is already used`,
      );
      continue;
    }
    names.add(service.name);
    reserved.push({ ...bind, owner: `app ${service.appId} port index ${service.portIndex}` });
    kept.push(service);
  }
  return kept;
}

/** Marathon snapshot → services and servers. Pure: the same snapshot and options give the same model. */
export function normalise(snapshot: Snapshot, options: RenderOptions): Model {
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const excluded = new Map<string, ExcludedTask>();
  const unsupported = new Map<string, number>();
  const candidates: Service[] = [];
  const seenIds = new Set<string>();

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
    for (const name of Object.keys(labels)) {
      const match = /^HAPROXY_(\d+)_(.+)$/.exec(name);
      if (match && !portLabelNames.includes(match[2] as string)) {
        const generic = `HAPROXY_{n}_${match[2]}`;
        unsupported.set(generic, (unsupported.get(generic) ?? 0) + 1);
      }
    }
    const ctx: AppContext = { app, labels, warn };
    const appGroups = label(ctx, "HAPROXY_GROUP", parseGroups);
    if (!appGroups.ok) {
      warn(`app ${app.id} skipped: ${appGroups.reason}`);
      continue;
    }
    for (const spec of portSpecs(app, networkMode(app))) {
      const service = buildService(ctx, spec, appGroups.value ?? [], options, excluded);
      if (service) candidates.push(service);
    }
  }
  for (const [name, count] of [...unsupported].sort(([a], [b]) => compare(a, b))) {
    warn(`label ${name} is not supported by mhc and was ignored (${count} app${count === 1 ? "" : "s"})`);
  }
  const services = resolveBindConflicts(candidates, options, warn);
  const excludedList = [...excluded.values()].sort(
    (a, b) => compare(a.appId, b.appId) || compare(a.taskId, b.taskId) || compare(a.reason, b.reason),
  );
  return { services, excluded: excludedList, warnings };
}
