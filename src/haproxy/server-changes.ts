import { isIP } from "node:net";

/** What mhc reads from two configs to change servers through the Runtime API (no I/O). */

/** A `server` line of a backend (or listen section). */
export interface ServerLine {
  backend: string;
  name: string;
  host: string;
  port: number;
  /** The line's options without `weight N`, `disabled` and `enabled`, which the Runtime API sets. */
  options: string[];
  weight: number;
  disabled: boolean;
}

export type ServerChange =
  | { kind: "add"; server: ServerLine }
  | { kind: "remove"; server: ServerLine }
  | { kind: "move"; server: ServerLine }
  | { kind: "weight"; server: ServerLine }
  | { kind: "state"; server: ServerLine };

/** Either the changes that turn the running servers into the candidate's, or why a reload is needed. */
export type ServerPlan =
  | { runtime: true; changes: ServerChange[]; backends: Map<string, ServerLine[]> }
  | { runtime: false; reason: string };

interface Section {
  header: string;
  /** Lines other than `server` lines, trimmed, blank lines left out (comments count: a changed one reloads). */
  lines: string[];
  servers: string[];
}

const sectionKeyword =
  /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|mailers|http-errors|ring|cache|fcgi-app)\b/;

/** The config's lines cut into sections, as written: a section starts at an unindented keyword. */
function rawSections(text: string): string[][] {
  const found: string[][] = [[]];
  for (const raw of text.split("\n")) {
    const first = raw.charCodeAt(0);
    if (first !== 32 && first !== 9 && raw !== "" && sectionKeyword.test(raw)) found.push([raw]);
    else (found.at(-1) as string[]).push(raw);
  }
  return found;
}

function parseSection(raw: string[]): Section {
  const first = raw[0] ?? "";
  const section: Section = { header: parseHeader(first), lines: [], servers: [] };
  const hasHeader = section.header !== "";
  const holdsServers = /^(backend|listen) /.test(section.header);
  for (const [i, text] of raw.entries()) {
    const line = text.trim();
    if (line === "" || (hasHeader && i === 0)) continue;
    if (holdsServers && /^server\s/.test(line) && !line.includes("#")) section.servers.push(line);
    else section.lines.push(line.replace(/\s+/g, " "));
  }
  return section;
}

function sections(text: string): Section[] {
  return rawSections(text).map(parseSection);
}

const sameLines = (a: string[], b: string[]) => a.length === b.length && a.every((line, i) => line === b[i]);

/** `server NAME HOST:PORT [options]` → its parts; undefined for forms mhc does not change at runtime. */
function parseServer(backend: string, line: string): ServerLine | undefined {
  const [, name, address, ...rest] = line.split(/\s+/);
  if (!name || !address) return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  if (!host || !match?.[3]) return undefined;
  const options: string[] = [];
  let weight = 1;
  let disabled = false;
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    if (word === "weight" && /^\d+$/.test(rest[i + 1] ?? "")) weight = Number(rest[++i]);
    else if (word === "disabled") disabled = true;
    else if (word === "enabled") disabled = false;
    else options.push(word);
  }
  return { backend, name, host, port: Number(match[3]), options, weight, disabled };
}

const backendName = (header: string) => header.split(" ")[1] ?? "";

/** Every plain `server NAME HOST:PORT` of a config, keyed `backend/name`. */
export function configServers(text: string): Map<string, ServerLine> {
  const servers = new Map<string, ServerLine>();
  for (const section of sections(text)) {
    const backend = backendName(section.header);
    for (const line of section.servers) {
      const server = parseServer(backend, line);
      if (server) servers.set(`${backend}/${server.name}`, server);
    }
  }
  return servers;
}

/**
 * Compares the installed config with the candidate. Only server lines of existing backends may
 * differ, every server must have an IP address (a dynamic server is not resolved), and no
 * `default-server` may carry settings, because servers added at runtime do not inherit them.
 */
export function planServerChanges(installed: string, candidate: string): ServerPlan {
  const before = rawSections(installed);
  const after = rawSections(candidate);
  const reload = (reason: string): ServerPlan => ({ runtime: false, reason });
  const header = (raw: string[]) => parseHeader(raw[0] ?? "");
  if (before.length !== after.length || before.some((raw, i) => raw[0] !== after[i]?.[0])) {
    if (before.length !== after.length || before.some((raw, i) => header(raw) !== header(after[i] ?? []))) {
      return reload("sections were added, removed or renamed");
    }
  }
  const changes: ServerChange[] = [];
  const backends = new Map<string, ServerLine[]>();
  let inheritsDefaults = false;
  for (const [i, oldRaw] of before.entries()) {
    const nextRaw = after[i] as string[];
    // Most sections are byte for byte the same: only the others are parsed.
    const unchanged = sameLines(oldRaw, nextRaw);
    if (unchanged && !nextRaw[0]?.startsWith("defaults")) continue;
    const old = parseSection(oldRaw);
    const next = unchanged ? old : parseSection(nextRaw);
    if (old.lines.join("\n") !== next.lines.join("\n")) {
      return reload(`settings other than servers changed in "${next.header || "the top"}"`);
    }
    if (/^defaults\b/.test(next.header)) inheritsDefaults = hasDefaultServerSettings(next.lines);
    if (old.servers.join("\n") === next.servers.join("\n")) continue;
    if (inheritsDefaults || hasDefaultServerSettings(next.lines)) {
      return reload(
        `servers changed in "${next.header}", whose default-server settings runtime servers would not inherit`,
      );
    }
    const name = backendName(next.header);
    const oldServers = parseServers(name, old.servers);
    const newServers = parseServers(name, next.servers);
    if (typeof oldServers === "string") return reload(oldServers);
    if (typeof newServers === "string") return reload(newServers);
    const diff = diffServers(oldServers, newServers);
    if (typeof diff === "string") return reload(diff);
    changes.push(...diff);
    backends.set(name, [...newServers.values()]);
  }
  return { runtime: true, changes, backends };
}

const parseHeader = (first: string) =>
  first !== "" && !/^\s/.test(first) && sectionKeyword.test(first) ? first.trim().replace(/\s+/g, " ") : "";

/** `default-server` lines with more than `init-addr`, which only matters for host names. */
function hasDefaultServerSettings(lines: string[]): boolean {
  return lines.some((line) => /^default-server\s/.test(line) && !/^default-server init-addr \S+$/.test(line));
}

function parseServers(backend: string, lines: string[]): Map<string, ServerLine> | string {
  const servers = new Map<string, ServerLine>();
  for (const line of lines) {
    const server = parseServer(backend, line);
    if (!server) return `server line "${line}" in backend ${backend} has no plain HOST:PORT address`;
    if (isIP(server.host) === 0)
      return `server ${backend}/${server.name} has a host name, which HAProxy does not resolve for runtime servers`;
    if (servers.has(server.name)) return `backend ${backend} names server ${server.name} twice`;
    servers.set(server.name, server);
  }
  return servers;
}

function diffServers(
  before: Map<string, ServerLine>,
  after: Map<string, ServerLine>,
): ServerChange[] | string {
  const changes: ServerChange[] = [];
  for (const [name, old] of before) {
    if (!after.has(name)) changes.push({ kind: "remove", server: old });
  }
  for (const [name, server] of after) {
    const old = before.get(name);
    if (!old) {
      changes.push({ kind: "add", server });
      continue;
    }
    if (old.options.join(" ") !== server.options.join(" ")) {
      return `options of server ${server.backend}/${name} changed`;
    }
    if (old.host !== server.host || old.port !== server.port) changes.push({ kind: "move", server });
    if (old.weight !== server.weight) changes.push({ kind: "weight", server });
    if (old.disabled !== server.disabled) changes.push({ kind: "state", server });
  }
  return changes;
}
