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

const sectionKeywords =
  "global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|mailers|http-errors|ring|cache|fcgi-app";
const sectionKeyword = new RegExp(`^(${sectionKeywords})\\b`);
/** A line break followed by a line that starts a section: the cut between two sections. */
const sectionStart = new RegExp(`\n(?=(?:${sectionKeywords})\\b)`);

/**
 * The config cut into sections as written, each one string: a section starts at an unindented
 * keyword. The first is what comes before any section (empty when the config starts with one), so
 * the same section has the same place in two configs.
 */
function sectionTexts(text: string): string[] {
  const found = text.split(sectionStart);
  if (sectionKeyword.test(found[0] ?? "")) found.unshift("");
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
  return sectionTexts(text).map((section) => parseSection(section.split("\n")));
}

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
  const { before, after, defaults } = differingSections(installed, candidate);
  const reload = (reason: string): ServerPlan => ({ runtime: false, reason });
  const renamed = (text: string, i: number) => {
    const other = after[i] ?? "";
    return firstLine(text) !== firstLine(other) && header(text) !== header(other);
  };
  if (before.length !== after.length || before.some(renamed)) {
    return reload("sections were added, removed or renamed");
  }
  const changes: ServerChange[] = [];
  const backends = new Map<string, ServerLine[]>();
  let inheritsDefaults =
    defaults !== undefined && hasDefaultServerSettings(parseSection(defaults.split("\n")).lines);
  for (const [i, oldText] of before.entries()) {
    const nextText = after[i] as string;
    // Most sections are the same string: only the others are cut into lines and parsed.
    const unchanged = oldText === nextText;
    if (unchanged && !nextText.startsWith("defaults")) continue;
    const old = parseSection(oldText.split("\n"));
    const next = unchanged ? old : parseSection(nextText.split("\n"));
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

/**
 * The sections of both configs from the first difference to the last, widened to whole sections
 * (everything around them is the same text in both), and the `defaults` section before them, whose
 * `default-server` the servers in them inherit. Only this part is cut into sections: with one
 * server changed, a few hundred bytes of two 10 MB configs.
 */
function differingSections(
  installed: string,
  candidate: string,
): { before: string[]; after: string[]; defaults?: string } {
  const prefix = commonPrefix(installed, candidate);
  const suffix = commonSuffix(installed, candidate, Math.min(installed.length, candidate.length) - prefix);
  const bothStart = (at: number) => at === 0 || (sectionAt(installed, at) && sectionAt(candidate, at));
  // The line of the first difference, then line by line back to a section start in both.
  const lineStart = (at: number) => (at <= 0 ? 0 : installed.lastIndexOf("\n", at - 1) + 1);
  let start = lineStart(prefix);
  while (!bothStart(start)) start = lineStart(start - 1);
  const shift = candidate.length - installed.length;
  let end = installed.indexOf("\n", installed.length - suffix - 1) + 1;
  while (end > 0 && !(sectionAt(installed, end) && sectionAt(candidate, end + shift))) {
    end = installed.indexOf("\n", end) + 1;
  }
  const cut = (text: string, to: number) => sectionTexts(text.slice(start, to > 0 ? to : text.length));
  return {
    before: cut(installed, end),
    after: cut(candidate, end > 0 ? end + shift : 0),
    defaults: defaultsBefore(installed, start),
  };
}

/** Whether a section starts at `at`, the first character of a line. */
const sectionAt = (text: string, at: number) =>
  at > 0 &&
  at < text.length &&
  text.charCodeAt(at - 1) === 10 &&
  sectionKeyword.test(text.slice(at, at + 16));

/** The `defaults` section that last starts before `at`, if any. */
function defaultsBefore(text: string, at: number): string | undefined {
  const head = text.slice(0, at);
  let last = /^defaults\b/.test(head) ? 0 : -1;
  // Forward: configs name their defaults near the top, and a backward search is slow over 10 MB.
  for (let found = head.indexOf("\ndefaults"); found >= 0; found = head.indexOf("\ndefaults", found + 1)) {
    if (sectionAt(head, found + 1)) last = found + 1;
  }
  return last < 0 ? undefined : sectionTexts(head.slice(last))[1];
}

/** Compared a chunk at a time: most of two configs is the same text. */
const chunk = 4096;

function commonPrefix(a: string, b: string): number {
  const most = Math.min(a.length, b.length);
  let n = 0;
  while (n + chunk <= most && a.slice(n, n + chunk) === b.slice(n, n + chunk)) n += chunk;
  while (n < most && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return n;
}

function commonSuffix(a: string, b: string, most: number): number {
  let n = 0;
  while (
    n + chunk <= most &&
    a.slice(a.length - n - chunk, a.length - n) === b.slice(b.length - n - chunk, b.length - n)
  )
    n += chunk;
  while (n < most && a.charCodeAt(a.length - n - 1) === b.charCodeAt(b.length - n - 1)) n++;
  return n;
}

const firstLine = (text: string) => {
  const end = text.indexOf("\n");
  return end < 0 ? text : text.slice(0, end);
};

/** A section's header as HAProxy reads it (spacing aside), from the section's text. */
const header = (text: string) => parseHeader(firstLine(text));

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
