/** What mhc reads from an HAProxy config's text (no I/O). */

/** The unix path of a `stats socket … expose-fd listeners` line, if the config has one. */
export function listenerSocket(configText: string): string | undefined {
  for (const line of configText.split("\n")) {
    const match = /^\s*stats\s+socket\s+(\S+)\s.*\bexpose-fd\s+listeners\b/.exec(line);
    const address = match?.[1]?.replace(/^unix@/, "");
    if (address && !address.includes("@")) return address;
  }
  return undefined;
}

/** A TCP listening address of a `bind` line: host as written (`*` and `` for any), one port. */
export interface Listener {
  host: string;
  port: number;
}

/**
 * The TCP listeners of every `bind` line (`bind ADDR[,ADDR…] [options]`). Addresses mhc cannot
 * test-bind from outside HAProxy (unix sockets, `fd@`, `sockpair@`, `abns@`, UDP/QUIC, port ranges,
 * environment variables) are left out.
 */
export function listeners(configText: string): Listener[] {
  return configText.split("\n").flatMap(bindListeners);
}

/** The listeners of one line, if it is a `bind` line. */
function bindListeners(line: string): Listener[] {
  const match = /^\s*bind\s+(\S+)/.exec(line);
  if (!match?.[1]) return [];
  return match[1].split(",").flatMap((address) => parseAddress(address) ?? []);
}

function parseAddress(text: string): Listener | undefined {
  const family = /^([a-z0-9]+)@/.exec(text)?.[1];
  if (family !== undefined && !["ipv4", "ipv6", "tcp", "tcp4", "tcp6"].includes(family)) return undefined;
  const address = family === undefined ? text : text.slice(family.length + 1);
  if (address.includes("$") || address.startsWith("/")) return undefined;
  const colon = address.lastIndexOf(":");
  if (colon < 0) return undefined;
  const port = address.slice(colon + 1);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return undefined;
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(port) };
}

/**
 * File descriptors HAProxy 2.6 needs for a config before it serves a single connection: one per
 * listener, one per health check and agent check, twice `maxconn` (100 when the config sets none,
 * HAProxy's floor), and its own: 16 alone, up to 29 with a master CLI and stats socket, so 32 here.
 * Measured against the figure its "Cannot raise FD limit to N" alert prints.
 */
const checkWord = /\scheck(?:\s|$)/;
const agentCheckWord = /\sagent-check(?:\s|$)/;

export function fileDescriptorNeed(configText: string): number {
  let listening = 0;
  let checks = 0;
  let maxconn = 100;
  let inGlobal = false;
  // One pass with cheap tests first: a 10,000-app config has a quarter of a million lines.
  for (const raw of configText.split("\n")) {
    const line = raw.trimStart();
    if (line.startsWith("server ") || line.startsWith("server\t")) {
      const code = line.includes("#") ? (line.split("#")[0] as string) : line;
      if (checkWord.test(code)) checks++;
      if (agentCheckWord.test(code)) checks++;
    } else if (line.startsWith("bind")) {
      listening += bindListeners(line).length;
    } else if (line === raw && line !== "" && !line.startsWith("#")) {
      inGlobal = /^global\b/.test(line);
    } else if (inGlobal && line.startsWith("maxconn")) {
      const limit = /^maxconn\s+(\d+)/.exec(line);
      if (limit) maxconn = Number(limit[1]);
    }
  }
  return listening + checks + 2 * maxconn + 32;
}

/** The unix path of a `stats socket … level admin` line: the Runtime API of the worker. */
export function adminSocket(configText: string): string | undefined {
  for (const line of configText.split("\n")) {
    const match = /^\s*stats\s+socket\s+(\S+)\s.*\blevel\s+admin\b/.exec(line);
    const address = match?.[1]?.replace(/^unix@/, "");
    if (address && !address.includes("@")) return address;
  }
  return undefined;
}

/** Where HAProxy reads server state at start-up: `server-state-file`, under `server-state-base` if relative. */
export function serverStateFile(configText: string): string | undefined {
  const setting = (name: string) => new RegExp(`^\\s*${name}\\s+(\\S+)`, "m").exec(configText)?.[1];
  const file = setting("server-state-file");
  if (!file) return undefined;
  const base = setting("server-state-base");
  return file.startsWith("/") || !base ? file : `${base.replace(/\/$/, "")}/${file}`;
}
