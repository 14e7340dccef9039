import { isIP } from "node:net";

/**
 * One spelling per socket address: IPv6 compressed and lower-cased (`0:0:0:0:0:0:0:1` → `::1`,
 * `2001:DB8::1` → `2001:db8::1`, `[::1]` → `::1`), so two spellings of one address are seen as one bind.
 */
export function canonicalAddress(bracketed: string): string {
  const address = bracketed.startsWith("[") ? bracketed.replace(/^\[(.*)\]$/, "$1") : bracketed;
  if (!address.includes(":") || isIP(address) !== 6) return address;
  return new URL(`http://[${address}]/`).hostname.replace(/^\[|\]$/g, "");
}

/** `<canonical addr>:<port>`: the key of a bind, as conflicts and the incumbents map use it. */
export function bindKey(address: string, port: number): string {
  return `${canonicalAddress(address)}:${port}`;
}
