import { isIP } from "node:net";
import type { Mode } from "./model.ts";

/**
 * marathon-lb's label vocabulary, validated strictly: a label value becomes HAProxy config text,
 * so anything that could break out of its line or token is refused (the caller drops that
 * app/port and warns, instead of breaking the whole config as marathon-lb did).
 */

export type LabelResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): LabelResult<T> => ({ ok: true, value });
const fail = <T>(reason: string): LabelResult<T> => ({ ok: false, reason });

/** Rejects what no label may contain: line breaks, control characters, non-ASCII (e.g. no-break space). */
function plainText(value: unknown): LabelResult<string> {
  if (typeof value !== "string") return fail("is not a string");
  if (/[\r\n]/.test(value)) return fail("contains a line break");
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return fail("contains a control character");
    if (code > 0x7f) return fail("contains non-ASCII characters (e.g. a no-break space)");
  }
  return ok(value.trim());
}

function parsed<T>(value: unknown, parse: (text: string) => LabelResult<T>): LabelResult<T> {
  const text = plainText(value);
  return text.ok ? parse(text.value) : text;
}

const groupName = /^[A-Za-z0-9_.*-]+$/;

export function parseGroups(value: unknown): LabelResult<string[]> {
  return parsed(value, (text) => {
    const groups = text
      .split(",")
      .map((g) => g.trim())
      .filter(Boolean);
    const bad = groups.find((g) => !groupName.test(g));
    return bad === undefined ? ok(groups) : fail(`has an invalid group name "${bad}"`);
  });
}

export function parseBool(value: unknown): LabelResult<boolean> {
  return parsed(value, (text) => {
    const lower = text.toLowerCase();
    if (["true", "t", "yes", "y", "1"].includes(lower)) return ok(true);
    if (["false", "f", "no", "n", "0"].includes(lower)) return ok(false);
    return fail("is not true or false");
  });
}

export function parseMode(value: unknown): LabelResult<Mode> {
  return parsed(value, (text) => {
    const lower = text.toLowerCase();
    return lower === "tcp" || lower === "http" ? ok(lower) : fail("is not tcp or http");
  });
}

export function parsePort(value: unknown): LabelResult<number> {
  return parsed(value, (text) => {
    const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
    return port >= 1 && port <= 65535 ? ok(port) : fail("is not a port number (1-65535)");
  });
}

export function parseBindAddress(value: unknown): LabelResult<string> {
  return parsed(value, (text) => {
    const address = text.replace(/^\[(.*)\]$/, "$1");
    return address === "*" || isIP(address) !== 0 ? ok(address) : fail("is not an IP address or *");
  });
}

const balanceAlgorithm =
  /^(roundrobin|static-rr|leastconn|first|source|random(\(\d+\))?|uri( (whole|len \d+|depth \d+|path-only))*|url_param [A-Za-z0-9_.-]+|hdr\([A-Za-z0-9_-]+\)|rdp-cookie(\([A-Za-z0-9_-]+\))?)$/;

export function parseBalance(value: unknown): LabelResult<string> {
  return parsed(value, (text) =>
    balanceAlgorithm.test(text) ? ok(text) : fail("is not a supported balance algorithm"),
  );
}

const hostLabel = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const vhostPattern = new RegExp(`^(\\*\\.)?${hostLabel}(\\.${hostLabel})*$`);

/** Comma-separated host names, lower-cased; `*.example.com` matches any subdomain. */
export function parseVhosts(value: unknown): LabelResult<string[]> {
  return parsed(value, (text) => {
    const hosts = text
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    if (hosts.length === 0) return fail("is empty");
    const bad = hosts.find((h) => h.length > 253 || !vhostPattern.test(h));
    return bad === undefined ? ok([...new Set(hosts)]) : fail(`has an invalid host name "${bad}"`);
  });
}

const pathToken = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/;

/** Space-separated path prefixes (marathon-lb passes them to `path_beg`); `-i` is tolerated and ignored. */
export function parsePaths(value: unknown): LabelResult<string[]> {
  return parsed(value, (text) => {
    const paths = text.split(/\s+/).filter((p) => p !== "" && p !== "-i");
    if (paths.length === 0) return fail("is empty");
    const bad = paths.find((p) => !pathToken.test(p));
    return bad === undefined ? ok(paths) : fail(`has an invalid path "${bad}"`);
  });
}

export function parseWeight(value: unknown): LabelResult<number> {
  return parsed(value, (text) => {
    const weight = /^-?\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
    return Number.isFinite(weight) ? ok(weight) : fail("is not an integer");
  });
}

/** Health-check paths come from the app definition and end up in `option httpchk`. */
export function parseCheckPath(value: unknown): LabelResult<string> {
  if (value === undefined || value === null || value === "") return ok("/");
  return parsed(value, (text) =>
    pathToken.test(text.split("?")[0] ?? "") && !/[\s"'#\\]/.test(text)
      ? ok(text)
      : fail("is not a plain URL path"),
  );
}

/** Per-port labels mhc understands; everything else starting with HAPROXY_ is reported as unsupported. */
export const portLabelNames = [
  "GROUP",
  "ENABLED",
  "MODE",
  "PORT",
  "BIND_ADDR",
  "BALANCE",
  "VHOST",
  "PATH",
  "BACKEND_WEIGHT",
];
