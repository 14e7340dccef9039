import { isIP } from "node:net";
import { canonicalAddress } from "./address.ts";
import type { BasicAuth, Mode } from "./model.ts";
import { portTemplateNames, type TemplateName } from "./templates.ts";

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
    if (address.includes("%")) return fail("has a zone id, which HAProxy cannot bind");
    return address === "*" || isIP(address) !== 0
      ? ok(canonicalAddress(address))
      : fail("is not an IP address or *");
  });
}

/** HAProxy 2.6 reads these counts as signed 32-bit integers and refuses 0. */
const maxInt32 = 2147483647;
const isCount = (text: string | undefined) =>
  text !== undefined && /^\d{1,10}$/.test(text) && Number(text) >= 1 && Number(text) <= maxInt32;

const simpleBalance =
  /^(roundrobin|static-rr|leastconn|first|source|random|rdp-cookie(\([A-Za-z0-9_-]+\))?|url_param [A-Za-z0-9_.-]+( check_post)?|hdr\([A-Za-z0-9_-]+\)( use_domain_only)?)$/;

/** HAProxy 2.6's `balance` grammar with the numbers it accepts (`random(0)`, `uri len 0` fail its check). */
function isBalance(text: string): boolean {
  if (simpleBalance.test(text)) return true;
  const random = /^random\((\d+)\)$/.exec(text);
  if (random) return isCount(random[1]);
  const words = text.split(" ");
  if (words[0] !== "uri") return false;
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (word === "whole" || word === "path-only") continue;
    if ((word === "len" || word === "depth") && isCount(words[i + 1])) i++;
    else return false;
  }
  return true;
}

export function parseBalance(value: unknown): LabelResult<string> {
  return parsed(value, (text) => (isBalance(text) ? ok(text) : fail("is not a valid balance")));
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

/** Path prefixes for `path_beg`, and whether they match case-insensitively. */
export interface PathMatch {
  paths: string[];
  ignoreCase: boolean;
}

/** Space-separated path prefixes (marathon-lb passes them to `path_beg`); a leading `-i` matches case-insensitively. */
export function parsePaths(value: unknown): LabelResult<PathMatch> {
  return parsed(value, (text) => {
    const words = text.split(/\s+/).filter((p) => p !== "");
    const ignoreCase = words[0] === "-i";
    const paths = ignoreCase ? words.slice(1) : words;
    if (paths.length === 0) return fail("is empty");
    const bad = paths.find((p) => !pathToken.test(p));
    return bad === undefined ? ok({ paths, ignoreCase }) : fail(`has an invalid path "${bad}"`);
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

/** crypt(3) hashes (`$5$…`, `$6$…`, `$2b$…`, `$y$…`); anything else is a plaintext password. */
const cryptHash = /^\$(1|5|6|2[aby]|y|gy|7|sha1|md5)\$[A-Za-z0-9./$=,-]+$/;

/**
 * `realm:user:password` (the password may contain `:`). Reasons never quote the value: it holds a
 * password, and reasons reach warnings and commit messages.
 */
export function parseAuth(value: unknown): LabelResult<BasicAuth> {
  return parsed(value, (text) => {
    const first = text.indexOf(":");
    const second = text.indexOf(":", first + 1);
    if (first < 0 || second < 0) return fail("is not realm:user:password");
    const realm = text.slice(0, first);
    const user = text.slice(first + 1, second);
    const password = text.slice(second + 1);
    if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(realm))
      return fail("has a realm other than letters, digits, spaces, . _ -");
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(user))
      return fail("has a user name other than letters, digits, . _ @ -");
    if (!/^[!-~]{1,256}$/.test(password) || /["'#\\]/.test(password))
      return fail("has a password with spaces, quotes, # or \\ (or an empty one)");
    return ok({ realm, user, password, hashed: cryptHash.test(password) });
  });
}

/** A certificate path on the HAProxy host (a PEM file, or a folder of them). */
export function parseCertPath(value: unknown): LabelResult<string> {
  return parsed(value, (text) =>
    /^\/[A-Za-z0-9._/-]*$/.test(text) && !text.split("/").includes("..")
      ? ok(text)
      : fail("is not an absolute path of letters, digits, . _ / -"),
  );
}

/** HAProxy 2.6 bind options a label may set, with how many arguments each takes. */
const bindKeywords: Record<string, number> = {
  ssl: 0,
  crt: 1,
  "crt-list": 1,
  "ca-file": 1,
  "crl-file": 1,
  "ca-verify-file": 1,
  "ca-ignore-err": 1,
  "crt-ignore-err": 1,
  sigalgs: 1,
  "client-sigalgs": 1,
  verify: 1,
  alpn: 1,
  npn: 1,
  ciphers: 1,
  ciphersuites: 1,
  curves: 1,
  ecdhe: 1,
  "ssl-min-ver": 1,
  "ssl-max-ver": 1,
  "no-sslv3": 0,
  "no-tlsv10": 0,
  "no-tlsv11": 0,
  "no-tlsv12": 0,
  "no-tlsv13": 0,
  "no-tls-tickets": 0,
  "prefer-client-ciphers": 0,
  "strict-sni": 0,
  "allow-0rtt": 0,
  "accept-proxy": 0,
  "defer-accept": 0,
  tfo: 0,
  transparent: 0,
  v4v6: 0,
  v6only: 0,
  maxconn: 1,
  backlog: 1,
  mss: 1,
  "tcp-ut": 1,
  name: 1,
};

const bindArgument = /^[A-Za-z0-9._/:,=@+-]+$/;
const verifyValues = new Set(["none", "optional", "required"]);

/** Extra words after a bind: known keywords only (an unknown one would make HAProxy refuse the whole config). */
export function parseBindOptions(value: unknown): LabelResult<string> {
  return parsed(value, (text) => {
    const words = text.split(/\s+/).filter(Boolean);
    if (words.length === 0) return fail("is empty");
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const arity = bindKeywords[word];
      if (arity === undefined) return fail(`has "${word}", which is not a bind option mhc knows`);
      if (arity === 0) continue;
      const argument = words[++i];
      if (argument === undefined || !bindArgument.test(argument))
        return fail(`has no valid value after "${word}"`);
      if (word === "verify" && !verifyValues.has(argument))
        return fail("has verify other than none, optional, required");
      if (
        ["ca-file", "ca-verify-file", "crl-file", "crt", "crt-list"].includes(word) &&
        !parseCertPath(argument).ok
      )
        return fail(`has a ${word} that is not an absolute path`);
    }
    return ok(words.join(" "));
  });
}

/** Space-separated IPv4/IPv6 addresses or CIDR networks (HAProxy's `src` ACL). */
export function parseNetworks(value: unknown): LabelResult<string[]> {
  return parsed(value, (text) => {
    const networks = text.split(/\s+/).filter(Boolean);
    if (networks.length === 0) return fail("is empty");
    // One ACL line; HAProxy 2.6 reads at most 64 words per line.
    if (networks.length > 50) return fail("has more than 50 entries");
    for (const network of networks) {
      const [address = "", prefix, ...rest] = network.split("/");
      const family = isIP(address);
      const bits = prefix === undefined ? 0 : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
      if (family === 0 || rest.length > 0 || bits < 0 || bits > (family === 4 ? 32 : 128))
        return fail(`has "${network}", which is not an IP address or network`);
    }
    return ok(networks);
  });
}

/** A URL path used in a rewrite or a redirect: plain characters only, so it is also a literal regex. */
export function parsePlainPath(value: unknown): LabelResult<string> {
  return parsed(value, (text) =>
    /^\/[A-Za-z0-9._~/-]*$/.test(text) ? ok(text) : fail("is not a path of letters, digits, . _ ~ / -"),
  );
}

export function parsePortIndex(value: unknown): LabelResult<number> {
  return parsed(value, (text) => (/^\d{1,3}$/.test(text) ? ok(Number(text)) : fail("is not a port index")));
}
/** A deployment group names the merged app: Marathon id segments, the leading `/` optional. */
export function parseDeploymentGroup(value: unknown): LabelResult<string> {
  return parsed(value, (text) => {
    const id = text.startsWith("/") ? text : `/${text}`;
    return /^(\/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)+$/.test(id)
      ? ok(id)
      : fail("is not a Marathon app id (letters, digits, dots and dashes between slashes)");
  });
}

export function parseCount(value: unknown): LabelResult<number> {
  return parsed(value, (text) => (/^\d{1,9}$/.test(text) ? ok(Number(text)) : fail("is not a whole number")));
}

export function parseColour(value: unknown): LabelResult<string> {
  return parsed(value, (text) =>
    /^[A-Za-z0-9_-]{1,32}$/.test(text) ? ok(text) : fail("is not a colour name"),
  );
}

const isoTime = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 time as zdd writes it (`2016-02-01T14:13:42.499089`, no zone) to a number that orders
 * times: milliseconds since 1970, fractions kept. No zone means UTC, so the order never depends on
 * the machine's time zone.
 */
export function parseStartedAt(value: unknown): LabelResult<number> {
  return parsed(value, (text) => {
    const m = isoTime.exec(text);
    if (!m) return fail("is not an ISO 8601 time");
    const [, y, mo, d, h, mi, sec, fraction, zone] = m;
    const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec ?? 0));
    let offset = 0;
    if (zone && zone.toUpperCase() !== "Z") {
      const digits = zone.replace(":", "");
      offset = (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * (digits[0] === "-" ? -1 : 1);
    }
    if (Number.isNaN(utc)) return fail("is not an ISO 8601 time");
    return ok(utc - offset * 60_000 + Number(fraction ?? 0) * 1000);
  });
}

/** App-level labels mhc implements (`HAPROXY_<name>`), each with its parser and its README line. */
export const appLabels = {
  GROUP: { parse: parseGroups, doc: "Comma list of groups the app belongs to (for `--group`)." },
  DEPLOYMENT_GROUP: {
    parse: parseDeploymentGroup,
    doc: "Blue/green (marathon-lb's zdd): apps with the same value are one app named after it, with one frontend and backend on the service ports of the colour that started first; servers of every colour; the older colour's servers drain (see Blue/green).",
  },
  DEPLOYMENT_STARTED_AT: {
    parse: parseStartedAt,
    doc: "ISO 8601 time the colour was deployed; the latest is the new colour (no zone: UTC; absent: oldest).",
  },
  DEPLOYMENT_TARGET_INSTANCES: {
    parse: parseCount,
    doc: "Instances the deployment aims for (read from the new colour): old servers drain only while the healthy new ones plus the old instances exceed it.",
  },
  DEPLOYMENT_NEW_INSTANCES: {
    parse: parseCount,
    doc: "zdd's count of new instances for a partial (hybrid) deployment (`0`: a full one); validated. In a hybrid deployment the drain rule keeps the old servers: the healthy new ones plus the old instances never exceed the target.",
  },
  DEPLOYMENT_COLOUR: {
    parse: parseColour,
    doc: "The colour's name (`blue`, `green`); validated, shown in the backend's comment.",
  },
  APP_ID: {
    parse: parseDeploymentGroup,
    doc: "The original app id, written by zdd; validated only (marathon-lb does not read it either).",
  },
  DEPLOYMENT_ALT_PORT: {
    parse: parsePort,
    doc: "The port zdd gives the next colour; validated only (the group binds the first colour's port, as marathon-lb).",
  },
} as const;

/** A label's value after parsing, by parser. */
type Parsed<P> = P extends (value: unknown) => LabelResult<infer T> ? T : never;

/** Per-port labels mhc implements (`HAPROXY_{n}_<name>`), each with its parser and its README line. */
export const portLabels = {
  GROUP: { parse: parseGroups, doc: "Overrides `HAPROXY_GROUP` for service port index n." },
  ENABLED: { parse: parseBool, doc: "`false` hides that port (`true/false/yes/no/1/0`)." },
  MODE: {
    parse: parseMode,
    doc: "`tcp` or `http`. Default `tcp`; `http` when a VHOST or PATH is set or the port's health check is `HTTP`/`MESOS_HTTP` (an `HTTPS` check means the app speaks TLS, so the port stays `tcp`). The label wins; VHOST/PATH with MODE `tcp` is ignored with a warning.",
  },
  PORT: { parse: parsePort, doc: "Bind this port instead of the service port." },
  BIND_ADDR: {
    parse: parseBindAddress,
    doc: "Bind address (IPv4, IPv6 or `*`; default `*`). Compared in canonical form (`::1` = `0:0:0:0:0:0:0:1`); an IPv6 zone id (`fe80::1%eth0`) is refused: HAProxy cannot bind it.",
  },
  BALANCE: {
    parse: parseBalance,
    doc: "Balance algorithm as HAProxy 2.6 accepts it: `roundrobin` (default), `static-rr`, `leastconn`, `first`, `source`, `random[(draws)]`, `uri [whole] [len N] [depth N] [path-only]`, `url_param X [check_post]`, `hdr(X) [use_domain_only]`, `rdp-cookie[(X)]`; numbers 1-2147483647.",
  },
  VHOST: {
    parse: parseVhosts,
    doc: "Comma list of host names routed on the shared HTTP frontend by `Host` header (case-insensitive, port stripped). `*.example.com` matches subdomains.",
  },
  PATH: {
    parse: parsePaths,
    doc: "Space-separated path prefixes (`path_beg`); a leading `-i` makes them case-insensitive (`-i /api /v1`). With a VHOST both must match; without one, the path routes requests that no VHOST route claims.",
  },
  BACKEND_WEIGHT: {
    parse: parseWeight,
    doc: "Integer; routes on the shared frontend are tried by descending weight (a PATH route of weight 0 counts as 1, so it outranks a plain vhost route), then app id. Path-only routes always come after every VHOST route.",
  },
  AUTH: {
    parse: parseAuth,
    secret: true,
    doc: "HTTP basic auth, `realm:user:password`, checked in the backend, so every way in (shared frontends, service port, app-id port) asks for it. Use a crypt(3) hash (`mkpasswd -m sha-512`, `openssl passwd -6`): the config is committed to git; a plaintext password works but is warned about. The value never appears in warnings, commits or `--json`. Needs http mode.",
  },
  REDIRECT_TO_HTTPS: {
    parse: parseBool,
    doc: "`true`: every plain-HTTP request to the app gets a 301 to the same URL over https (with or without PATH: the redirect applies to exactly the requests routed to the app). Needs http mode.",
  },
  USE_HSTS: {
    parse: parseBool,
    doc: "`true`: responses carry `Strict-Transport-Security: max-age=15768000`. Needs http mode.",
  },
  STICKY: {
    parse: parseBool,
    doc: "`true`: cookie `mesosphere_server_id` keeps a client on one server (the cookie value is a hash of the server name, not its address). Needs http mode.",
  },
  BACKEND_NETWORK_ALLOWED_ACL: {
    parse: parseNetworks,
    doc: "Space-separated IPs or CIDR networks allowed to reach the app; anyone else gets 403 (http) or a closed connection (tcp).",
  },
  HTTP_BACKEND_PROXYPASS_PATH: {
    parse: parsePlainPath,
    doc: "Strip this path prefix before the request reaches the app (`/api/x` → `/x`) and, with a VHOST, set `Host` to the first vhost. Needs http mode.",
  },
  HTTP_BACKEND_REVPROXY_PATH: {
    parse: parsePlainPath,
    doc: "Prefix `Location` headers the app sends (relative, or absolute on its first vhost) with this path (`/x` → `/api/x`). Needs http mode.",
  },
  HTTP_BACKEND_REDIR: {
    parse: parsePlainPath,
    doc: "A request for `/` gets a 301 to this path. Needs http mode.",
  },
  BACKEND_HEALTHCHECK_PORT_INDEX: {
    parse: parsePortIndex,
    doc: "Check each server on the task's port of another port index (and use that port's health check when this one has none). An index the app does not have is warned about and ignored.",
  },
  SSL_CERT: {
    parse: parseCertPath,
    doc: "Terminate TLS on the port's own bind with this certificate (a PEM path or folder on the HAProxy host): `bind … ssl crt PATH`.",
  },
  BIND_OPTIONS: {
    parse: parseBindOptions,
    doc: "Extra options on the port's bind, from HAProxy 2.6's bind keywords mhc knows (`ssl`, `crt`, `ca-file`, `verify`, `alpn`, `ciphers`, `ssl-min-ver`, `accept-proxy`, `maxconn`, …); anything else drops the port, since one unknown keyword would make HAProxy refuse the whole config.",
  },
} as const;

export type PortLabelName = keyof typeof portLabels;
export type PortLabelValues = { [K in PortLabelName]?: Parsed<(typeof portLabels)[K]["parse"]> };

/**
 * What mhc does with a label: implements it; reports it and renders the app without it; or, for a
 * label that restricts who may reach an app or how, leaves the app out (serving it without the
 * restriction would fail open).
 */
export type LabelSupport = "implemented" | "ignored" | "refused";

export interface LabelEntry {
  /** As the README shows it: `HAPROXY_GROUP`, `HAPROXY_{n}_VHOST`. */
  title: string;
  level: "app" | "port";
  support: LabelSupport;
  /** The names this entry covers: after `HAPROXY_` (app) or after `HAPROXY_{n}_` (port). */
  names: readonly string[];
  doc: string;
}

/** marathon-lb's per-port template names (`HAPROXY_{n}_<NAME>` labels). */
const marathonLbTemplateNames = [
  "FRONTEND_HEAD",
  "BACKEND_HEAD",
  "FRONTEND_BACKEND_GLUE",
  "BACKEND_HTTP_OPTIONS",
  "BACKEND_HTTP_HEALTHCHECK_OPTIONS",
  "BACKEND_TCP_HEALTHCHECK_OPTIONS",
  "BACKEND_SERVER_OPTIONS",
  "BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS",
  "BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS",
  "BACKEND_STICKY_OPTIONS",
  "BACKEND_HSTS_OPTIONS",
  "BACKEND_REDIRECT_HTTP_TO_HTTPS",
  "BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH",
  "HTTP_FRONTEND_ACL",
  "HTTP_FRONTEND_ACL_ONLY",
  "HTTP_FRONTEND_ACL_WITH_PATH",
  "HTTP_FRONTEND_ACL_WITH_AUTH",
  "HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH",
  "HTTP_FRONTEND_ACL_ONLY_WITH_PATH",
  "HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH",
  "HTTP_FRONTEND_ROUTING_ONLY",
  "HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH",
  "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH",
  "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH",
  "HTTPS_FRONTEND_ACL",
  "HTTPS_FRONTEND_ACL_WITH_PATH",
  "HTTPS_FRONTEND_ACL_WITH_AUTH",
  "HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH",
  "HTTPS_FRONTEND_ACL_ONLY_WITH_PATH",
  "HTTPS_FRONTEND_AUTH_ACL_ONLY",
  "HTTPS_FRONTEND_AUTH_REQUEST_ONLY",
  "HTTPS_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH",
  "HTTP_FRONTEND_APPID_ACL",
  "MAP_HTTP_FRONTEND_ACL",
  "MAP_HTTP_FRONTEND_ACL_ONLY",
  "MAP_HTTPS_FRONTEND_ACL",
  "MAP_HTTP_FRONTEND_APPID_ACL",
  "HTTP_BACKEND_PROXYPASS_GLUE",
  "HTTP_BACKEND_REVPROXY_GLUE",
  "HTTP_BACKEND_NETWORK_ALLOWED_ACL",
  "TCP_BACKEND_NETWORK_ALLOWED_ACL",
  "USERLIST_HEAD",
];

/**
 * The templates a label may override: mhc's port templates, except `HTTP_BACKEND_REDIR`, whose
 * label name is already the redirect path's (as in marathon-lb, where the two collide).
 */
export const labelTemplateNames: readonly TemplateName[] = portTemplateNames.filter(
  (n) => n !== "HTTP_BACKEND_REDIR",
);

/** The shared frontends' routing templates: mhc builds that routing itself. */
const routingTemplateNames = marathonLbTemplateNames.filter(
  (n) => !(labelTemplateNames as string[]).includes(n),
);

const entry = (level: LabelEntry["level"], name: string, support: LabelSupport, doc: string): LabelEntry => ({
  title: level === "app" ? `HAPROXY_${name}` : `HAPROXY_{n}_${name}`,
  level,
  support,
  names: [name],
  doc,
});

/** `HAPROXY_{n}_<TEMPLATE>`: a per-port override of one of mhc's templates (see templates.ts). */
export const templateEntry: LabelEntry = {
  title: "HAPROXY_{n}_<TEMPLATE>",
  level: "port",
  support: "implemented",
  names: labelTemplateNames,
  doc: `Replaces one of mhc's templates for port n (${labelTemplateNames.length} names: ${labelTemplateNames.map((n) => `\`${n}\``).join(", ")}); see Templates. A template using a variable it does not have, opening a section, or with a line break in a one-line template drops the port.`,
};

/** Every label mhc knows, declared once. Anything else starting with `HAPROXY_` is reported as unknown. */
export const labelTable: readonly LabelEntry[] = [
  ...Object.entries(appLabels).map(([name, { doc }]) => entry("app", name, "implemented", doc)),
  ...Object.entries(portLabels).map(([name, { doc }]) => entry("port", name, "implemented", doc)),
  templateEntry,
  {
    title: "HAPROXY_{n}_<ROUTING TEMPLATE>",
    level: "port",
    support: "refused",
    names: routingTemplateNames,
    doc: `marathon-lb's templates of the shared frontends' routing (${routingTemplateNames.length} names: \`HTTP_FRONTEND_ACL\`, \`HTTPS_FRONTEND_ACL_WITH_AUTH\`, \`MAP_HTTP_FRONTEND_ACL\`, \`HTTP_FRONTEND_APPID_ACL\`, …). mhc builds that routing itself (route order, wildcards, long lists, auth in the backend), and one app's text there could take other apps' traffic, so an app carrying one is left out.`,
  },
];

const byName = (level: LabelEntry["level"]) =>
  new Map(labelTable.filter((e) => e.level === level).flatMap((e) => e.names.map((n) => [n, e] as const)));
const appEntries = byName("app");
const portEntries = byName("port");

/** A label key as mhc sees it: app-level or of port index n, and the table's entry (undefined: unknown). */
export type LabelKey =
  | { level: "app"; name: string; entry?: LabelEntry }
  | { level: "port"; index: number; name: string; entry?: LabelEntry };

/** Classifies a Marathon label key; undefined for labels that are not mhc's (no `HAPROXY_` prefix). */
export function classifyLabel(key: string): LabelKey | undefined {
  if (!key.startsWith("HAPROXY_")) return undefined;
  const port = /^HAPROXY_(\d{1,4})_(.+)$/.exec(key);
  if (port) {
    const name = port[2] as string;
    return { level: "port", index: Number(port[1]), name, entry: portEntries.get(name) };
  }
  const name = key.slice("HAPROXY_".length);
  return { level: "app", name, entry: appEntries.get(name) };
}

const supportText: Record<LabelSupport, string> = {
  implemented: "yes",
  ignored: "no: reported, app rendered without it",
  refused: "no: app left out (fails closed)",
};

/** The README's label table, generated from `labelTable` (a test keeps the README in step). */
export function labelTableMarkdown(): string {
  const rows = labelTable.map(
    (e) => `| \`${e.title}\` | ${e.level} | ${supportText[e.support]} | ${e.doc} |`,
  );
  return ["| label | level | mhc | effect |", "|---|---|---|---|", ...rows].join("\n");
}

/** Where mhc's reading of an implemented label differs from marathon-lb's (README "Migrating from marathon-lb"). */
const differences: Record<string, string> = {
  HAPROXY_DEPLOYMENT_GROUP:
    "The new colour is the later `STARTED_AT` (marathon-lb also swaps the pair by last scaling time when `NEW_INSTANCES` is set); with more than two colours the newest is new and all others old.",
  HAPROXY_DEPLOYMENT_TARGET_INSTANCES:
    "Always read; marathon-lb uses 1 unless `NEW_INSTANCES` is set (zdd always sets it, so zdd deployments drain alike).",
  HAPROXY_DEPLOYMENT_NEW_INSTANCES:
    "Not used to pick the new colour (marathon-lb then prefers the colour scaled last, by `versionInfo.lastScalingAt`).",
  "HAPROXY_{n}_MODE":
    "A `MESOS_HTTP` check also makes the port http (marathon-lb: only `HTTP`); an `HTTPS` check keeps it tcp and checks over TLS.",
  "HAPROXY_{n}_VHOST":
    "`*.example.com` matches subdomains (marathon-lb compares it literally: it never matches); a port in the Host header is ignored.",
  "HAPROXY_{n}_PATH":
    "`-i` kept. Without a VHOST it routes on the shared frontend after every vhost route; marathon-lb ignores it (`--ignore-path-without-vhost`).",
  "HAPROXY_{n}_PORT":
    "A bind another app holds is refused with the reason (marathon-lb binds both; the kernel splits connections between them).",
  "HAPROXY_{n}_BIND_ADDR": "As `PORT`.",
  "HAPROXY_{n}_BALANCE": "Checked against HAProxy 2.6's grammar before it reaches the config.",
  "HAPROXY_{n}_BACKEND_WEIGHT": "Path-only routes come after every vhost route.",
  "HAPROXY_{n}_AUTH":
    "Checked in the backend, so the service port and :9091 ask too (marathon-lb: only the :80/:443 vhost routes); a plaintext password works (`insecure-password`, warned about) where marathon-lb wrote it as a hash that never matches; a tcp port with AUTH is left out.",
  "HAPROXY_{n}_REDIRECT_TO_HTTPS":
    "In the backend: every plain-HTTP request routed to the app is redirected, also on its service port and :9091 (marathon-lb: the :80 vhost route only); a tcp port with it is left out.",
  "HAPROXY_{n}_USE_HSTS":
    "`http-response set-header` (marathon-lb's `rspadd` is gone from HAProxy 2.x); a tcp port with it is left out.",
  "HAPROXY_{n}_STICKY":
    "The cookie value is a hash of the server name, as marathon-lb's; in tcp mode it is warned about and left out (marathon-lb writes a cookie HAProxy cannot use).",
  "HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL":
    "Addresses and networks are checked (IPv4/IPv6, prefix length); at most 50.",
  "HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH":
    "`http-request replace-path` (marathon-lb's `reqirep` is gone); `/api` strips `/api` and `/api/…`, not `/apix`.",
  "HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH":
    "Relative and own-vhost `Location` headers get the path prepended (marathon-lb's `rspirep` replaced the whole path with it).",
  "HAPROXY_{n}_HTTP_BACKEND_REDIR": "Any `/` routed to the app (marathon-lb: only on its first vhost).",
  "HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX":
    "The same task's port of that index (marathon-lb pairs servers of the two ports by sorted position); an index the app lacks is warned about.",
  "HAPROXY_{n}_SSL_CERT": "A path of plain characters only.",
  "HAPROXY_{n}_BIND_OPTIONS":
    "Only HAProxy 2.6 bind keywords mhc knows, with their arguments checked: one unknown keyword would make HAProxy refuse the whole config.",
  "HAPROXY_{n}_<TEMPLATE>":
    "mhc's own default texts, so marathon-lb's templates need adapting; a label may not open a section or change its section's header; `HTTP_BACKEND_REDIR` only from `--templates`.",
  "HAPROXY_{n}_<ROUTING TEMPLATE>":
    "Not supported: one app's text in a shared frontend could take other apps' traffic.",
};

/** The README's migration table: every label, whether mhc supports it, and how it differs from marathon-lb. */
export function migrationTableMarkdown(): string {
  const rows = labelTable.map(
    (e) =>
      `| \`${e.title}\` | ${supportText[e.support]} | ${differences[e.title] ?? (e.support === "implemented" ? "none" : "not implemented")} |`,
  );
  return ["| label | supported | difference from marathon-lb |", "|---|---|---|", ...rows].join("\n");
}
