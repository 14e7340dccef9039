import { canonicalAddress, canonicalBindOf } from "../address.ts";
import type { RenderOptions, Service } from "../model.ts";

/**
 * Pass 4, conflicts: one owner per bind address:port and per frontend name. The stats listener, the
 * shared HTTP(S) frontends and the app-id frontend bind first; then services that held their bind in the previously
 * published config (incumbents), so a newcomer never takes an existing service's port; then the
 * rest in (app id, port index) order. Addresses are compared in canonical form.
 */

const wildcardAddresses = new Set(["*", "0.0.0.0", "::"]);

interface Bind {
  address: string;
  port: number;
  /** A listener's name, or the service (named only when a conflict is reported). */
  owner: string | { service: Service; incumbent: boolean };
}

function ownerOf(bind: Bind): string {
  if (typeof bind.owner === "string") return bind.owner;
  const { service, incumbent } = bind.owner;
  const owner = `app ${service.appId} port index ${service.portIndex}`;
  return incumbent ? `${owner}, which holds it in the published config` : owner;
}

function bindsOverlap(a: Bind, b: { address: string; port: number }): boolean {
  return a.address === b.address || wildcardAddresses.has(a.address) || wildcardAddresses.has(b.address);
}

export type DropService = (service: Service, reason: string) => void;

export function resolveBindConflicts(
  services: Service[],
  options: Pick<
    RenderOptions,
    | "statsPort"
    | "statsBindAddress"
    | "httpPort"
    | "httpBindAddress"
    | "httpsPort"
    | "httpsBindAddress"
    | "sslCerts"
    | "appIdPort"
    | "appIdBindAddress"
    | "incumbents"
  >,
  drop: DropService,
): Service[] {
  // Binds taken so far, by port (only the same port can overlap), each list in the order taken.
  const reserved = new Map<number, Bind[]>();
  const reserveCanonical = (address: string, port: number, owner: Bind["owner"]) => {
    const bind = { address, port, owner };
    const onPort = reserved.get(port);
    if (onPort) onPort.push(bind);
    else reserved.set(port, [bind]);
  };
  const reserve = (address: string, port: number, owner: string) =>
    reserveCanonical(canonicalAddress(address), port, owner);
  if (options.statsPort > 0) reserve(options.statsBindAddress, options.statsPort, "the stats listener");
  if (services.some((s) => s.vhosts.length > 0 || s.paths.length > 0)) {
    reserve(options.httpBindAddress, options.httpPort, "the shared HTTP frontend");
    if (options.sslCerts !== undefined) {
      reserve(options.httpsBindAddress, options.httpsPort, "the shared HTTPS frontend");
    }
  }
  if (options.appIdPort > 0 && services.some((s) => s.mode === "http")) {
    reserve(options.appIdBindAddress, options.appIdPort, "the app-id frontend");
  }
  const binds = services.map(canonicalBindOf);
  const incumbents = options.incumbents;
  // Each service's bind looked up once; without incumbents (a first render, a watch's check) none is.
  const incumbent = incumbents?.size
    ? services.map((s, i) => incumbents.get((binds[i] as { key: string }).key) === s.appId)
    : undefined;
  const order: number[] = [];
  if (incumbent) {
    for (let i = 0; i < services.length; i++) if (incumbent[i]) order.push(i);
    for (let i = 0; i < services.length; i++) if (!incumbent[i]) order.push(i);
  } else for (let i = 0; i < services.length; i++) order.push(i);
  const kept: boolean[] = new Array(services.length).fill(false);
  const names = new Set<string>();
  for (const i of order) {
    const service = services[i] as Service;
    const bind = { address: (binds[i] as { address: string }).address, port: service.bindPort };
    const taken = reserved.get(bind.port)?.find((r) => bindsOverlap(r, bind));
    if (taken) {
      drop(service, `${service.bindAddress}:${bind.port} is already bound by ${ownerOf(taken)}`);
      continue;
    }
    if (names.has(service.name)) {
      drop(service, `name ${service.name} is already used`);
      continue;
    }
    names.add(service.name);
    reserveCanonical(bind.address, bind.port, { service, incumbent: incumbent?.[i] === true });
    kept[i] = true;
  }
  return services.filter((_, i) => kept[i]);
}
