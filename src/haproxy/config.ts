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
