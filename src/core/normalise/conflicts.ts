import { bindKey, canonicalAddress } from "../address.ts";
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
  owner: string;
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
  const reserve = (address: string, port: number, owner: string) => {
    const bind = { address: canonicalAddress(address), port, owner };
    const onPort = reserved.get(port);
    if (onPort) onPort.push(bind);
    else reserved.set(port, [bind]);
  };
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
  const incumbents = options.incumbents;
  // Without incumbents (a first render, a watch's check) no service needs its bind key built.
  const isIncumbent = incumbents?.size
    ? (s: Service) => incumbents.get(bindKey(s.bindAddress, s.bindPort)) === s.appId
    : () => false;
  const order = incumbents?.size
    ? [...services.filter(isIncumbent), ...services.filter((s) => !isIncumbent(s))]
    : services;
  const kept = new Set<Service>();
  const names = new Set<string>();
  for (const service of order) {
    const bind = { address: canonicalAddress(service.bindAddress), port: service.bindPort };
    const taken = reserved.get(bind.port)?.find((r) => bindsOverlap(r, bind));
    if (taken) {
      drop(service, `${service.bindAddress}:${bind.port} is already bound by ${taken.owner}`);
      continue;
    }
    if (names.has(service.name)) {
      drop(service, `name ${service.name} is already used`);
      continue;
    }
    names.add(service.name);
    const owner = `app ${service.appId} port index ${service.portIndex}`;
    reserve(
      bind.address,
      bind.port,
      isIncumbent(service) ? `${owner}, which holds it in the published config` : owner,
    );
    kept.add(service);
  }
  return services.filter((s) => kept.has(s));
}
