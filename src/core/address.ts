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

/** A service's bind: its canonical address and its key. */
export interface CanonicalBind {
  address: string;
  key: string;
}

/**
 * Each bind's canonical form, for as long as the object holding it lives: a normalised or
 * published service is never changed, and watch mode keeps those of unchanged apps from sync to
 * sync, so the conflicts pass and the incumbents map do not build 12,000 keys every sync.
 */
const canonicalBinds = new WeakMap<object, CanonicalBind>();

export function canonicalBindOf(service: { bindAddress: string; bindPort: number }): CanonicalBind {
  let bind = canonicalBinds.get(service);
  if (!bind) {
    const address = canonicalAddress(service.bindAddress);
    bind = { address, key: `${address}:${service.bindPort}` };
    canonicalBinds.set(service, bind);
  }
  return bind;
}
