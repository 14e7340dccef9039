import { type CanonicalBind, canonicalAddress, canonicalBindOf } from "../address.ts";
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

/**
 * The last pass's input and outcome (watch mode). The outcome depends only on the listeners bound
 * first and, service by service in order, on its app id, port index, name, bind and whether it is
 * an incumbent; while all of those are as in the last pass (a task came or went, nothing moved),
 * the last outcome is the outcome, and the pass is not run again.
 */
export interface ConflictsMemo {
  last?: {
    listeners: string;
    services: readonly Service[];
    binds: readonly CanonicalBind[];
    incumbent: readonly boolean[] | undefined;
    /** The incumbents' binds and owners, in the map's order. */
    incumbents: { binds: readonly string[]; owners: readonly string[] } | undefined;
    kept: readonly boolean[];
    /** Each dropped service's index and reason, in the order they were dropped. */
    drops: readonly [number, string][];
  };
}

type Last = NonNullable<ConflictsMemo["last"]>;

/** Whether a map holds these entries in this order. */
function holdsOnly(map: ReadonlyMap<string, string>, entries: Last["incumbents"]): boolean {
  if (!entries || map.size !== entries.binds.length) return false;
  let i = 0;
  let same = true;
  map.forEach((owner, bind) => {
    if (bind !== entries.binds[i] || owner !== entries.owners[i]) same = false;
    i++;
  });
  return same;
}

function entriesOf(map: ReadonlyMap<string, string>): Last["incumbents"] {
  return { binds: [...map.keys()], owners: [...map.values()] };
}

/** Whether the services, their binds and incumbency are what the last pass read. */
function sameAsLast(
  last: Last,
  listeners: string,
  services: readonly Service[],
  incumbent: readonly boolean[] | undefined,
): boolean {
  if (last.listeners !== listeners || last.services.length !== services.length) return false;
  for (let i = 0; i < services.length; i++) {
    if ((incumbent?.[i] === true) !== (last.incumbent?.[i] === true)) return false;
    const now = services[i] as Service;
    const before = last.services[i] as Service;
    if (now === before) continue;
    if (
      now.appId !== before.appId ||
      now.portIndex !== before.portIndex ||
      now.name !== before.name ||
      now.bindAddress !== before.bindAddress ||
      now.bindPort !== before.bindPort
    )
      return false;
  }
  return true;
}

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
  memo?: ConflictsMemo,
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
  const last = memo?.last;
  const binds = services.map((s, i) =>
    last?.services[i] === s ? (last.binds[i] as CanonicalBind) : canonicalBindOf(s),
  );
  const incumbents = options.incumbents?.size ? options.incumbents : undefined;
  // Each service's bind looked up once; without incumbents (a first render, a watch's check) none
  // is, and when they are the last pass's, only those of services that were not in it.
  const sameIncumbents =
    incumbents !== undefined && last !== undefined && holdsOnly(incumbents, last.incumbents);
  const incumbent = incumbents
    ? services.map((s, i) =>
        sameIncumbents && last?.services[i] === s
          ? last.incumbent?.[i] === true
          : incumbents.get((binds[i] as CanonicalBind).key) === s.appId,
      )
    : undefined;
  // Kept for the next pass only (watch mode): a one-shot render neither copies nor joins them.
  const incumbentEntries = !memo
    ? undefined
    : sameIncumbents
      ? last?.incumbents
      : incumbents && entriesOf(incumbents);
  const listeners = !memo
    ? ""
    : [...reserved.values()]
        .flat()
        .map((b) => `${b.owner as string} ${b.address}:${b.port}`)
        .join("\n");
  if (last && sameAsLast(last, listeners, services, incumbent)) {
    for (const [i, reason] of last.drops) drop(services[i] as Service, reason);
    if (memo) memo.last = { ...last, services, binds, incumbent, incumbents: incumbentEntries };
    return services.filter((_, i) => last.kept[i]);
  }
  const drops: [number, string][] = [];
  const dropAt = (i: number, reason: string) => {
    drops.push([i, reason]);
    drop(services[i] as Service, reason);
  };
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
      dropAt(i, `${service.bindAddress}:${bind.port} is already bound by ${ownerOf(taken)}`);
      continue;
    }
    if (names.has(service.name)) {
      dropAt(i, `name ${service.name} is already used`);
      continue;
    }
    names.add(service.name);
    reserveCanonical(bind.address, bind.port, { service, incumbent: incumbent?.[i] === true });
    kept[i] = true;
  }
  if (memo) memo.last = { listeners, services, binds, incumbent, incumbents: incumbentEntries, kept, drops };
  return services.filter((_, i) => kept[i]);
}
