import type { MarathonApp } from "../snapshot.ts";

/**
 * Pass 1, ports and networking: an app's service ports and where each task is reached for each,
 * for Marathon 1.4 and 1.5+ shapes alike.
 */

/** Where a task's address for one service port comes from. */
export interface PortSpec {
  index: number;
  /** 0 when the app has none for this index. */
  servicePort: number;
  /** A number Marathon never gives as a service port (out of range, fractional): the port is dropped. */
  invalidServicePort?: number;
  /** Index into `task.ports`, when this port is reached on the agent's host. */
  hostPortIndex?: number;
  /** Container port, when this port is reached on the task's own IP (IP-per-task). */
  containerPort?: number;
  requiredPort?: number;
}

export type NetworkMode = "host" | "bridge" | "container";

export const isPort = (p: unknown): p is number =>
  typeof p === "number" && Number.isInteger(p) && p >= 1 && p <= 65535;

/**
 * A spec with its service port fields: 0 and absent mean none; another non-port number is invalid.
 * Built field by field (no spreads): 10,000 apps are read on every render.
 */
function spec(index: number, rawServicePort: unknown): PortSpec {
  if (isPort(rawServicePort)) return { index, servicePort: rawServicePort };
  if (typeof rawServicePort === "number" && rawServicePort !== 0)
    return { index, servicePort: 0, invalidServicePort: rawServicePort };
  return { index, servicePort: 0 };
}

const hasMode = (networks: readonly ({ mode?: string | null } | null)[], mode: string) => {
  for (let i = 0; i < networks.length; i++) if (networks[i]?.mode === mode) return true;
  return false;
};

export function networkMode(app: MarathonApp): NetworkMode {
  const networks = app.networks ?? [];
  if (hasMode(networks, "container/bridge")) return "bridge";
  if (hasMode(networks, "container")) return "container";
  if (networks.length > 0) return "host";
  const dockerNetwork = app.container?.docker?.network?.toUpperCase();
  if (dockerNetwork === "BRIDGE") return "bridge";
  if (dockerNetwork === "USER" || app.ipAddress) return "container";
  return "host";
}

/** The service ports an app declares (portDefinitions, else the older `ports`). */
function declaredPorts(app: MarathonApp): unknown[] {
  const definitions = app.portDefinitions;
  if (!definitions) return app.ports ?? [];
  const ports: unknown[] = new Array(definitions.length);
  for (let i = 0; i < definitions.length; i++) ports[i] = definitions[i]?.port;
  return ports;
}

export function portSpecs(app: MarathonApp, mode: NetworkMode = networkMode(app)): PortSpec[] {
  if (mode === "host") {
    const ports = declaredPorts(app);
    const specs: PortSpec[] = new Array(ports.length);
    for (let index = 0; index < ports.length; index++) {
      const port = ports[index];
      const hostSpec = spec(index, port);
      hostSpec.hostPortIndex = index;
      hostSpec.requiredPort = app.requirePorts && isPort(port) ? port : undefined;
      specs[index] = hostSpec;
    }
    return specs;
  }
  const mappings = app.container?.portMappings ?? app.container?.docker?.portMappings;
  if (mappings) {
    let hostPorts = 0;
    const specs: PortSpec[] = new Array(mappings.length);
    for (let index = 0; index < mappings.length; index++) {
      const mapping = mappings[index];
      const mappingSpec = spec(index, mapping?.servicePort);
      if (mode === "bridge" || typeof mapping?.hostPort === "number") mappingSpec.hostPortIndex = hostPorts++;
      else mappingSpec.containerPort = mapping?.containerPort ?? undefined;
      specs[index] = mappingSpec;
    }
    return specs;
  }
  // Marathon 1.4 IP-per-task: discovery ports on the task's IP; service ports come from portDefinitions, if any.
  const discovery = app.ipAddress?.discovery?.ports ?? [];
  const servicePorts = declaredPorts(app);
  return discovery.map((port, index) => {
    const discoverySpec = spec(index, servicePorts[index]);
    discoverySpec.containerPort = port?.number ?? undefined;
    return discoverySpec;
  });
}

/** FNV-1a, 32 bits: a stable hash without node:crypto (core stays pure). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Tries at hashed positions before scanning the range in order (as marathon-lb, 50 tries). */
const hashedTries = 50;

export interface PortRequest {
  appId: string;
  /** One key per port index, stable for the app (its container port, else the index). */
  keys: string[];
}

/**
 * Service ports for IP-per-task apps that have none (Marathon gives them none; marathon-lb's
 * workaround), from `range`. Deterministic: the same apps give the same ports. Stable: a port an app
 * held in the published config (`held`: port → app id) stays with it, so an app added later never
 * renumbers the others; the rest hash app id and key into the range, trying again on a clash.
 * A port the range cannot supply stays 0 (that port is not rendered).
 */
export function assignServicePorts(
  requests: PortRequest[],
  range: { min: number; max: number },
  held: ReadonlyMap<number, string>,
): Map<string, number[]> {
  const size = range.max - range.min + 1;
  const taken = new Set<number>();
  const result = new Map<string, number[]>();
  const byApp = new Map<string, number[]>();
  for (const [port, appId] of [...held].sort(([a], [b]) => a - b)) {
    if (port < range.min || port > range.max) continue;
    byApp.set(appId, [...(byApp.get(appId) ?? []), port]);
  }
  for (const request of requests) {
    const kept = (byApp.get(request.appId) ?? []).slice(0, request.keys.length);
    for (const port of kept) taken.add(port);
    result.set(request.appId, kept);
  }
  for (const request of requests) {
    const ports = result.get(request.appId) as number[];
    for (let k = ports.length; k < request.keys.length; k++) {
      let port = 0;
      for (let i = 0; i < hashedTries && port === 0; i++) {
        const trial = range.min + (hash32(`${request.appId}-${request.keys[k]}-${i}`) % size);
        if (!taken.has(trial)) port = trial;
      }
      for (let trial = range.min; trial <= range.max && port === 0; trial++) {
        if (!taken.has(trial)) port = trial;
      }
      if (port !== 0) taken.add(port);
      ports.push(port);
    }
  }
  return result;
}
