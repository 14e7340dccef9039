import type { Dropped, ExcludedTask } from "./model.ts";
import type { PublishedModel, PublishedServer, PublishedService } from "./published.ts";

/**
 * What a reviewer needs from two published models: per backend, servers added and removed and
 * settings changed in words; apps dropped (left out for a reason) apart from apps deleted (gone
 * from Marathon); tasks whose exclusion starts or ends. Reads models only, never config text.
 */

export interface BackendChange {
  name: string;
  appId: string;
  kind: "added" | "removed" | "changed";
  /** Servers of the backend in the version that has it (added: after, removed: before). */
  servers: number;
  added: string[];
  removed: string[];
  /** Settings in words: `balance roundrobin → leastconn`, `vhost + api.example.com`. */
  settings: Setting[];
  /** A blue/green backend's state after the change: `3 new, 1 draining`. */
  blueGreen?: string;
}

export interface Setting {
  /** What changed (`balance`, `vhost`), for the subject. */
  key: string;
  text: string;
}

export interface Changes {
  backends: BackendChange[];
  serversBefore: number;
  serversAfter: number;
  serversAdded: number;
  serversRemoved: number;
  /** Left out now and not (for this reason) before. */
  dropped: Dropped[];
  /** Left out before, back in the config now. */
  restored: Dropped[];
  /** All left out now. */
  droppedNow: number;
  excludedStarted: ExcludedTask[];
  excludedEnded: ExcludedTask[];
  excludedNow: number;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (values: Iterable<string>) => [...values].sort(compare);

export const serverAddress = (s: PublishedServer) =>
  s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;

const bindText = (s: PublishedService) =>
  s.bindAddress === "*"
    ? `*:${s.bindPort}`
    : serverAddress({ name: "", host: s.bindAddress, port: s.bindPort });

function checkWords(s: PublishedService): Record<string, string> {
  const check = s.healthCheck;
  if (!check) return { "health check": "none" };
  return {
    "health check": `${check.kind === "http" ? `GET ${check.path}` : "TCP connect"}${check.tls ? " over TLS" : ""}${check.port ? ` on port ${check.port}` : ""}`,
    "check interval": `${check.intervalSeconds}s`,
    "check timeout": `${check.timeoutSeconds}s`,
    "check fall": String(check.fall),
  };
}

/** The settings of a service a reviewer talks about, each as words. */
function settingWords(s: PublishedService): Record<string, string> {
  return {
    bind: bindText(s),
    mode: s.mode,
    balance: s.balance,
    "routing weight": String(s.backendWeight),
    "path match": s.pathsIgnoreCase ? "case-insensitive" : "case-sensitive",
    ...checkWords(s),
    ...accessWords(s),
  };
}

/** Who may reach a service and how: a reviewer must see these change. Never the password. */
function accessWords(s: PublishedService): Record<string, string> {
  return {
    auth: s.auth ? `user ${s.auth.user} realm "${s.auth.realm}"` : "none",
    "allowed sources": s.allowedSources?.join(" ") ?? "any",
    "redirect to https": s.redirectToHttps ? "on" : "off",
    hsts: s.hsts ? "on" : "off",
    "tls certificate": s.sslCert ?? "none",
    "bind options": s.bindOptions ?? "none",
    sticky: s.sticky ? "on" : "off",
  };
}

function settingChanges(old: PublishedService, fresh: PublishedService): Setting[] {
  const lines: Setting[] = [];
  const before = settingWords(old);
  const after = settingWords(fresh);
  for (const key of Object.keys(after)) {
    if (key in before && before[key] !== after[key])
      lines.push({ key, text: `${key} ${before[key]} → ${after[key]}` });
  }
  if (before.auth === after.auth && old.auth && fresh.auth && old.auth.password !== fresh.auth.password)
    lines.push({ key: "auth", text: `auth password of user ${fresh.auth.user} changed` });
  for (const [word, a, b] of [
    ["vhost", old.vhosts, fresh.vhosts],
    ["path", old.paths, fresh.paths],
  ] as const) {
    for (const v of sorted(b.filter((x) => !a.includes(x))))
      lines.push({ key: word, text: `${word} + ${v}` });
    for (const v of sorted(a.filter((x) => !b.includes(x))))
      lines.push({ key: word, text: `${word} - ${v}` });
  }
  return lines;
}

/** `3 new, 1 draining`: the new colour's servers and the old colour's servers that drain. */
function blueGreenState(s: PublishedService | undefined): string | undefined {
  if (!s?.blueGreen) return undefined;
  const draining = s.servers.filter((server) => server.draining).length;
  return `${s.blueGreen.newServers} new, ${draining} draining`;
}

const droppedKey = (d: Dropped) => `${d.appId}\u0000${d.portIndex ?? ""}`;
/** Task ids come from Marathon unchecked: one with a line break or a space is quoted, so it cannot add a line. */
const shownTaskId = (id: string) => (/^[\x21-\x7e]+$/.test(id) ? id : JSON.stringify(id));

const excludedKey = (e: ExcludedTask) => `${e.appId}\u0000${e.taskId}`;

export function compareModels(before: PublishedModel, after: PublishedModel): Changes {
  const old = new Map(before.services.map((s) => [s.name, s]));
  const fresh = new Map(after.services.map((s) => [s.name, s]));
  const backends: BackendChange[] = [];
  let serversAdded = 0;
  let serversRemoved = 0;
  // Only names whose service is not the very same object (watch mode keeps unchanged services)
  // are compared; sorting just those keeps a watch's sync from sorting every backend name.
  const differing = new Set<string>();
  for (const [name, service] of old) if (fresh.get(name) !== service) differing.add(name);
  for (const [name, service] of fresh) if (old.get(name) !== service) differing.add(name);
  for (const name of sorted(differing)) {
    const a = old.get(name);
    const b = fresh.get(name);
    const was = new Set(a?.servers.map(serverAddress));
    const is = new Set(b?.servers.map(serverAddress));
    const added = sorted([...is].filter((s) => !was.has(s)));
    const removed = sorted([...was].filter((s) => !is.has(s)));
    const settings = a && b ? settingChanges(a, b) : [];
    const state = blueGreenState(b);
    const stateBefore = blueGreenState(a);
    if (a && b && state !== stateBefore)
      settings.push({ key: "blue/green", text: `blue/green ${stateBefore ?? "none"} → ${state ?? "none"}` });
    serversAdded += added.length;
    serversRemoved += removed.length;
    const kind = !a ? "added" : !b ? "removed" : "changed";
    if (kind !== "changed" || added.length > 0 || removed.length > 0 || settings.length > 0) {
      const appId = (b ?? a)?.appId ?? name;
      backends.push({
        name,
        appId,
        kind,
        servers: (b ?? a)?.servers.length ?? 0,
        added,
        removed,
        settings,
        ...(state ? { blueGreen: state } : {}),
      });
    }
  }
  const droppedBefore = new Map(before.dropped.map((d) => [droppedKey(d), d]));
  const droppedAfter = new Set(after.dropped.map(droppedKey));
  // Only needed to tell which dropped services came back: built when something was dropped.
  const served =
    before.dropped.length === 0
      ? new Set<string>()
      : new Set(after.services.map((s) => `${s.appId}\u0000${s.portIndex}`));
  const servedApps =
    before.dropped.length === 0 ? new Set<string>() : new Set(after.services.map((s) => s.appId));
  const excludedBefore = new Set(before.excluded.map(excludedKey));
  const excludedAfter = new Set(after.excluded.map(excludedKey));
  const count = (m: PublishedModel) => m.services.reduce((n, s) => n + s.servers.length, 0);
  return {
    backends,
    serversBefore: count(before),
    serversAfter: count(after),
    serversAdded,
    serversRemoved,
    dropped: after.dropped.filter((d) => droppedBefore.get(droppedKey(d))?.reason !== d.reason),
    restored: before.dropped.filter(
      (d) =>
        !droppedAfter.has(droppedKey(d)) &&
        (d.portIndex === null ? servedApps.has(d.appId) : served.has(`${d.appId}\u0000${d.portIndex}`)),
    ),
    droppedNow: after.dropped.length,
    excludedStarted: after.excluded.filter((e) => !excludedBefore.has(excludedKey(e))),
    excludedEnded: before.excluded.filter((e) => !excludedAfter.has(excludedKey(e))),
    excludedNow: after.excluded.length,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One app's share of the changes, for the subject. */
type AppKind = "changed" | "new" | "deleted" | "dropped" | "restored";

function appKinds(changes: Changes): Map<string, { kind: AppKind; weight: number; text: string }> {
  const droppedApps = new Set(changes.dropped.map((d) => d.appId));
  const restoredApps = new Set(changes.restored.map((d) => d.appId));
  const perApp = new Map<string, BackendChange[]>();
  for (const change of changes.backends) {
    const list = perApp.get(change.appId);
    if (list) list.push(change);
    else perApp.set(change.appId, [change]);
  }
  const apps = new Map<string, { kind: AppKind; weight: number; text: string }>();
  for (const [app, list] of perApp) {
    const all = (kind: BackendChange["kind"]) => list.every((c) => c.kind === kind);
    const servers = list.reduce((n, c) => n + c.servers, 0);
    const blueGreen = list.find((c) => c.blueGreen)?.blueGreen;
    if (blueGreen) {
      const weight = list.reduce((n, c) => n + c.added.length + c.removed.length + c.settings.length, 0);
      apps.set(app, {
        kind: "changed",
        weight: Math.max(1, weight),
        text: `blue/green ${app}: ${blueGreen}`,
      });
    } else if (all("added"))
      apps.set(app, { kind: restoredApps.has(app) ? "restored" : "new", weight: servers, text: app });
    else if (all("removed"))
      apps.set(app, { kind: droppedApps.has(app) ? "dropped" : "deleted", weight: servers, text: app });
    else {
      const added = list.reduce((n, c) => n + c.added.length, 0);
      const removed = list.reduce((n, c) => n + c.removed.length, 0);
      const settings = [...new Set(list.flatMap((c) => c.settings.map((s) => s.key)))];
      const bits: string[] = [];
      if (added) bits.push(`+${plural(added, "server")}`);
      if (removed) bits.push(`-${plural(removed, "server")}`);
      if (list.some((c) => c.kind !== "changed")) bits.push("ports changed");
      else if (settings.length === 1) bits.push(`${settings[0]} changed`);
      else if (settings.length > 1) bits.push("settings changed");
      apps.set(app, {
        kind: "changed",
        weight: added + removed + settings.length,
        text: `${app} ${bits.join(" ")}`,
      });
    }
  }
  // Dropped or restored without a backend change (never published, or kept by quarantine).
  for (const d of changes.dropped)
    if (!apps.has(d.appId)) apps.set(d.appId, { kind: "dropped", weight: 0, text: d.appId });
  for (const d of changes.restored)
    if (!apps.has(d.appId)) apps.set(d.appId, { kind: "restored", weight: 0, text: d.appId });
  return apps;
}

const subjectLimit = 72;
const groupOrder: AppKind[] = ["new", "deleted", "dropped", "restored"];

function groupNamed(kind: AppKind, names: string[]): string {
  const n = names.length;
  if (kind === "new") return `+${plural(n, "app")} ${names.join(" ")}`;
  if (kind === "deleted") return `-${plural(n, "app")} ${names.join(" ")}`;
  return `${kind} ${names.join(" ")}`;
}

function groupCounted(kind: AppKind, n: number, someNamed: boolean): string {
  if (kind === "new") return `+${plural(n, "app")}`;
  if (kind === "deleted") return `-${plural(n, "app")}`;
  if (kind === "changed") return someNamed ? `${n} more changed` : `${plural(n, "app")} changed`;
  return `${n} ${kind}`;
}

/**
 * At most 72 characters whatever the change: the biggest changes by name, the rest as counts
 * (`haproxy: /shop/web +3 servers, +48 apps, -2 apps`).
 */
export function commitSubject(changes: Changes): string {
  const apps = appKinds(changes);
  if (apps.size === 0) return "haproxy: config text changed";
  interface Item {
    kind: AppKind;
    weight: number;
    named: string;
    /** A shorter name when the full one does not fit (`/web changed`). */
    short?: string;
    members: number;
  }
  const items: Item[] = [];
  for (const [app, a] of apps)
    if (a.kind === "changed")
      items.push({ kind: "changed", weight: a.weight, named: a.text, short: `${app} changed`, members: 1 });
  for (const kind of groupOrder) {
    const members = [...apps.entries()].filter(([, a]) => a.kind === kind);
    if (members.length === 0) continue;
    const weight = members.reduce((n, [, a]) => n + Math.max(1, a.weight), 0);
    items.push({
      kind,
      weight,
      named: groupNamed(kind, sorted(members.map(([id]) => id))),
      members: members.length,
    });
  }
  items.sort((a, b) => b.weight - a.weight || compare(a.named, b.named));
  const subjectWith = (named: Set<Item>) => {
    const counted = new Map<AppKind, number>();
    for (const item of items)
      if (!named.has(item)) counted.set(item.kind, (counted.get(item.kind) ?? 0) + item.members);
    const someChangedNamed = [...named].some((i) => i.kind === "changed");
    const parts = [
      ...items.filter((i) => named.has(i)).map((i) => i.named),
      ...(["changed", ...groupOrder] as AppKind[])
        .filter((k) => counted.has(k))
        .map((k) => groupCounted(k, counted.get(k) as number, someChangedNamed)),
    ];
    return `haproxy: ${parts.join(", ")}`;
  };
  // Biggest first, each by name if the subject still fits, else counted with the rest of its kind.
  // Each name takes at least a few characters, so only the biggest few can ever fit.
  const named = new Set<Item>();
  for (const item of items.slice(0, subjectLimit / 2)) {
    named.add(item);
    if (subjectWith(named).length <= subjectLimit) continue;
    if (item.short) item.named = item.short;
    if (subjectWith(named).length > subjectLimit) named.delete(item);
  }
  const subject = subjectWith(named);
  if (subject.length <= subjectLimit) return subject;
  return `haproxy: ${plural(apps.size, "app")} changed`;
}

export interface GateOverride {
  gate: string;
  reason: string;
  detail: string;
}

export interface BodyInput {
  changes: Changes;
  /** Gates that refused and were overridden with --force. */
  overridden?: GateOverride[];
  /** Note at the top (held for review, quarantine). */
  notes?: string[];
  /** Lines of the whole body (about 200): backends get what the other lists leave, at least 50. */
  lineLimit?: number;
}

const listLimit = 50;

function appLabel(d: Dropped): string {
  return d.portIndex ? `${d.appId} port index ${d.portIndex}` : d.appId;
}

function bounded(lines: string[], limit: number, what: string): string[] {
  if (lines.length <= limit) return lines;
  return [...lines.slice(0, limit), `    … and ${lines.length - limit} more ${what}`];
}

/** The backend lines: what changed in each, in words, up to `limit` lines, then a count of the rest. */
function backendLines(changes: Changes, limit: number): string[] {
  const droppedApps = new Set(changes.dropped.map((d) => d.appId));
  const restoredApps = new Set(changes.restored.map((d) => d.appId));
  const lines: string[] = [];
  for (const [i, change] of changes.backends.entries()) {
    const block: string[] = [];
    const servers = plural(change.servers, "server");
    if (change.kind === "added") {
      const why = restoredApps.has(change.appId) ? ": restored" : "";
      block.push(`+ backend ${change.name} (app ${change.appId}, ${servers})${why}`);
      for (const s of change.added) block.push(`    + ${s}`);
    } else if (change.kind === "removed") {
      const why = droppedApps.has(change.appId) ? "dropped (see below)" : "deleted";
      block.push(`- backend ${change.name} (app ${change.appId}, ${servers}): ${why}`);
      for (const s of change.removed) block.push(`    - ${s}`);
    } else {
      block.push(`backend ${change.name} (app ${change.appId})`);
      for (const s of change.added) block.push(`    + ${s}`);
      for (const s of change.removed) block.push(`    - ${s}`);
      for (const s of change.settings) block.push(`    ${s.text}`);
    }
    if (change.blueGreen) block.push(`    blue/green ${change.appId}: ${change.blueGreen}`);
    if (lines.length + block.length <= limit) {
      lines.push(...block);
      continue;
    }
    // Only a backend too big for the whole listing is shown in part; otherwise it is counted.
    const partial = lines.length === 0;
    if (partial) {
      const room = limit - 1;
      lines.push(
        ...block.slice(0, room),
        `    … and ${plural(block.length - room, "more line")} for ${change.name}`,
      );
    }
    const rest = changes.backends.slice(partial ? i + 1 : i);
    if (rest.length > 0) {
      const added = rest.reduce((n, c) => n + c.added.length, 0);
      const removed = rest.reduce((n, c) => n + c.removed.length, 0);
      const settings = rest.reduce((n, c) => n + c.settings.length, 0);
      lines.push(
        `… and ${plural(rest.length, "more backend")} not listed: +${added} -${removed} servers, ${plural(settings, "setting")} changed`,
      );
    }
    break;
  }
  return lines;
}

/**
 * The body: per backend what changed, why apps were left out or came back, then totals. Each list is
 * bounded and the backends take the room the others leave, so the whole stays about `lineLimit`.
 */
export function commitBody({ changes, overridden = [], notes = [], lineLimit = 200 }: BodyInput): string {
  const head: string[][] = [];
  if (notes.length > 0) head.push(notes);
  for (const gate of overridden) head.push([`Gate ${gate.gate} overridden with --force: ${gate.reason}`]);
  const tail: string[][] = [];
  const why = [
    ...changes.dropped.map((d) => `dropped ${appLabel(d)}: ${d.reason}`),
    ...changes.restored.map((d) => `restored ${appLabel(d)}`),
  ];
  if (why.length > 0) tail.push(bounded(why, listLimit, "dropped or restored"));
  const totals = [
    `Servers: ${changes.serversBefore} → ${changes.serversAfter} (+${changes.serversAdded} -${changes.serversRemoved})`,
  ];
  if (changes.droppedNow > 0) totals.push(`Dropped: ${plural(changes.droppedNow, "app port")}`);
  if (changes.excludedNow > 0 || changes.excludedEnded.length > 0) {
    const delta =
      changes.excludedStarted.length || changes.excludedEnded.length
        ? ` (+${changes.excludedStarted.length} -${changes.excludedEnded.length})`
        : "";
    totals.push(`Tasks not in the config: ${changes.excludedNow}${delta}`);
    totals.push(
      ...bounded(
        changes.excludedStarted.map((t) => `    + ${t.appId} ${shownTaskId(t.taskId)}: ${t.reason}`),
        listLimit,
        "tasks left out",
      ),
      ...bounded(
        changes.excludedEnded.map((t) => `    - ${t.appId} ${shownTaskId(t.taskId)}: was ${t.reason}`),
        listLimit,
        "tasks back or gone",
      ),
    );
  }
  tail.push(totals);
  const others = [...head, ...tail].reduce((n, section) => n + section.length + 1, 0);
  const backends = backendLines(changes, Math.max(listLimit, lineLimit - others));
  const sections = backends.length > 0 ? [...head, backends, ...tail] : [...head, ...tail];
  return sections.map((section) => section.join("\n")).join("\n\n");
}
