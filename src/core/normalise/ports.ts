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
  /** Index into `task.ports`, when this port is reached on the agent's host. */
  hostPortIndex?: number;
  /** Container port, when this port is reached on the task's own IP (IP-per-task). */
  containerPort?: number;
  requiredPort?: number;
}

export type NetworkMode = "host" | "bridge" | "container";

export const isPort = (p: unknown): p is number =>
  typeof p === "number" && Number.isInteger(p) && p >= 1 && p <= 65535;

export function networkMode(app: MarathonApp): NetworkMode {
  const modes = (app.networks ?? []).map((n) => n?.mode);
  if (modes.includes("container/bridge")) return "bridge";
  if (modes.includes("container")) return "container";
  if (modes.length > 0) return "host";
  const dockerNetwork = app.container?.docker?.network?.toUpperCase();
  if (dockerNetwork === "BRIDGE") return "bridge";
  if (dockerNetwork === "USER" || app.ipAddress) return "container";
  return "host";
}

export function portSpecs(app: MarathonApp, mode: NetworkMode = networkMode(app)): PortSpec[] {
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
