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
  const found: Listener[] = [];
  for (const line of configText.split("\n")) {
    const match = /^\s*bind\s+(\S+)/.exec(line);
    if (!match?.[1]) continue;
    for (const address of match[1].split(",")) {
      const listener = parseAddress(address);
      if (listener) found.push(listener);
    }
  }
  return found;
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
