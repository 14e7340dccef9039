/**
 * What a reviewer needs from two configs: per backend, servers added and removed and option
 * changes. Read back from config text (not from a model), so it also works on the config already
 * published, whatever version of mhc wrote it.
 */

export interface BackendSummary {
  name: string;
  /** From the `description app <id> …` line mhc writes; the backend name otherwise. */
  appId: string;
  servers: Set<string>;
  options: Record<string, string>;
}

export type ConfigSummary = Map<string, BackendSummary>;

export function summariseConfig(text: string): ConfigSummary {
  const backends: ConfigSummary = new Map();
  const routes = new Map<string, string[]>();
  let current: BackendSummary | undefined;
  let inHttpFrontend = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (raw !== "" && !/^\s/.test(raw)) {
      const [keyword, name = ""] = line.split(/\s+/);
      current = keyword === "backend" ? { name, appId: name, servers: new Set(), options: {} } : undefined;
      if (current) backends.set(name, current);
      inHttpFrontend = keyword === "frontend" && name === "http_in";
      continue;
    }
    if (inHttpFrontend) {
      const acl = /^acl (host|path)_(\S+) (.*)$/.exec(line);
      if (acl)
        routes.set(acl[2] as string, [
          ...(routes.get(acl[2] as string) ?? []),
          acl[3]?.replace(/^req\.hdr\(host\),field\(1,:\) /, "") ?? "",
        ]);
      continue;
    }
    if (!current) continue;
    const words = line.split(/\s+/);
    if (words[0] === "server" && words[2]) {
      current.servers.add(words[2]);
      const check = words.slice(3).join(" ");
      if (check) current.options["server check"] = check;
    } else if (words[0] === "description" && words[1] === "app" && words[2]) current.appId = words[2];
    else if (words[0] === "mode" || words[0] === "balance")
      current.options[words[0]] = words.slice(1).join(" ");
    else if (words[0] === "option" && words[1] === "httpchk")
      current.options["health check"] = words.slice(2).join(" ");
    else if (words[0] === "timeout" && words[1] === "check")
      current.options["check timeout"] = words[2] ?? "";
  }
  for (const [name, criteria] of routes) {
    const backend = backends.get(name);
    if (backend) backend.options.routing = criteria.join("; ");
  }
  return backends;
}

export interface BackendChange {
  name: string;
  appId: string;
  kind: "added" | "removed" | "changed";
  added: string[];
  removed: string[];
  options: { key: string; from?: string; to?: string }[];
}

export interface Changes {
  backends: BackendChange[];
  serversBefore: number;
  serversAfter: number;
  serversAdded: number;
  serversRemoved: number;
}

const sorted = (values: Iterable<string>) => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function compareConfigs(before: ConfigSummary, after: ConfigSummary): Changes {
  const backends: BackendChange[] = [];
  let serversAdded = 0;
  let serversRemoved = 0;
  for (const name of sorted(new Set([...before.keys(), ...after.keys()]))) {
    const old = before.get(name);
    const fresh = after.get(name);
    const added = sorted([...(fresh?.servers ?? [])].filter((s) => !old?.servers.has(s)));
    const removed = sorted([...(old?.servers ?? [])].filter((s) => !fresh?.servers.has(s)));
    const options: BackendChange["options"] = [];
    if (old && fresh) {
      for (const key of sorted(new Set([...Object.keys(old.options), ...Object.keys(fresh.options)]))) {
        if (old.options[key] !== fresh.options[key])
          options.push({ key, from: old.options[key], to: fresh.options[key] });
      }
    }
    serversAdded += added.length;
    serversRemoved += removed.length;
    const kind = !old ? "added" : !fresh ? "removed" : "changed";
    if (kind !== "changed" || added.length > 0 || removed.length > 0 || options.length > 0) {
      backends.push({ name, appId: (fresh ?? old)?.appId ?? name, kind, added, removed, options });
    }
  }
  const count = (summary: ConfigSummary) => [...summary.values()].reduce((n, b) => n + b.servers.size, 0);
  return { backends, serversBefore: count(before), serversAfter: count(after), serversAdded, serversRemoved };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `haproxy: /web +2 servers, /api -1 server, +1 app /new`, kept to a readable length. */
export function commitSubject(changes: Changes): string {
  const perApp = new Map<string, { added: number; removed: number; options: number; kinds: Set<string> }>();
  for (const change of changes.backends) {
    const entry = perApp.get(change.appId) ?? { added: 0, removed: 0, options: 0, kinds: new Set<string>() };
    entry.added += change.added.length;
    entry.removed += change.removed.length;
    entry.options += change.options.length;
    entry.kinds.add(change.kind);
    perApp.set(change.appId, entry);
  }
  const parts: string[] = [];
  const newApps: string[] = [];
  const goneApps: string[] = [];
  for (const [app, entry] of perApp) {
    if (entry.kinds.size === 1 && entry.kinds.has("added")) newApps.push(app);
    else if (entry.kinds.size === 1 && entry.kinds.has("removed")) goneApps.push(app);
    else {
      const bits = [];
      if (entry.added) bits.push(`+${plural(entry.added, "server")}`);
      if (entry.removed) bits.push(`-${plural(entry.removed, "server")}`);
      if (entry.options || entry.kinds.size > 1) bits.push("options changed");
      parts.push(`${app} ${bits.join(" ")}`);
    }
  }
  if (newApps.length) parts.push(`+${plural(newApps.length, "app")} ${newApps.join(" ")}`);
  if (goneApps.length) parts.push(`-${plural(goneApps.length, "app")} ${goneApps.join(" ")}`);
  let subject = "haproxy: ";
  for (let i = 0; i < parts.length; i++) {
    const next = `${i === 0 ? "" : ", "}${parts[i]}`;
    if ((subject + next).length > 72 && i > 0) return `${subject}, and ${parts.length - i} more`;
    subject += next;
  }
  return parts.length === 0 ? "haproxy: config text changed" : subject;
}

export interface ExcludedLine {
  appId: string;
  taskId: string;
  reason: string;
}

/** The body: per backend what changed, then tasks left out and why. */
export function commitBody(changes: Changes, excluded: ExcludedLine[]): string {
  const lines: string[] = [];
  for (const change of changes.backends) {
    const mark = change.kind === "added" ? "+ " : change.kind === "removed" ? "- " : "";
    const servers =
      change.kind === "changed"
        ? ""
        : ` (${plural(change.kind === "added" ? change.added.length : change.removed.length, "server")})`;
    lines.push(`${mark}backend ${change.name} (app ${change.appId})${servers}`);
    if (change.kind === "changed") {
      for (const server of change.added) lines.push(`    + ${server}`);
      for (const server of change.removed) lines.push(`    - ${server}`);
      for (const option of change.options)
        lines.push(`    ${option.key}: ${option.from ?? "(none)"} -> ${option.to ?? "(none)"}`);
    } else {
      for (const server of change.kind === "added" ? change.added : change.removed)
        lines.push(`    ${server}`);
    }
  }
  lines.push(
    "",
    `Servers: ${changes.serversBefore} -> ${changes.serversAfter} (+${changes.serversAdded} -${changes.serversRemoved})`,
  );
  if (excluded.length > 0) {
    lines.push("", "Tasks not in the config:");
    const shown = excluded.slice(0, 50);
    for (const task of shown) lines.push(`    ${task.appId} ${task.taskId}: ${task.reason}`);
    if (excluded.length > shown.length) lines.push(`    … and ${excluded.length - shown.length} more`);
  }
  return lines.join("\n");
}
