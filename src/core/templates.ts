/**
 * marathon-lb's named templates: config text with `{variable}` placeholders (Python format syntax:
 * `{{` and `}}` are literal braces). mhc's defaults render exactly what mhc writes without
 * templates. An operator overrides one for every app from a folder (`--templates DIR`, a file
 * named `HAPROXY_<NAME>`), an app per port with a `HAPROXY_{n}_<NAME>` label.
 *
 * A template is checked once, before anything is rendered: a variable it does not have, or a
 * brace that is not a variable, is an error. Variable values are validated label values and
 * Marathon fields, so no value can add a line. A label template may only add directives to its
 * app's own sections: it cannot open a section (its header line, where it has one, is fixed).
 */

export type TemplateResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A parsed template: literal text and variable names, alternating (`text[0] var[0] text[1] …`). */
export interface Template {
  text: string[];
  vars: string[];
}

/** Variables every per-port template has (the service's). */
export const serviceVariables = [
  "backend",
  "appId",
  "servicePort",
  "bindAddr",
  "mode",
  "balance",
  "hostname",
  "sslCert",
  "bindOptions",
  "healthCheckPath",
  "healthCheckTimeoutSeconds",
  "healthCheckIntervalSeconds",
  "healthCheckFalls",
  "healthCheckMaxConsecutiveFailures",
  "healthCheckPort",
  "healthCheckPortOptions",
  "healthCheckTlsOptions",
] as const;

const serverVariables = [
  "serverName",
  "host",
  "host_ipv4",
  "port",
  "cookieOptions",
  "healthCheckOptions",
  "otherOptions",
];

interface TemplateDefinition {
  /** Global templates come only from `--templates DIR`; port templates also from labels. */
  scope: "global" | "port";
  /** Extra variables beyond the service's (port templates) or the only ones (global). */
  vars: readonly string[];
  value: string;
  /** Part of one line (a server's check options): no line breaks. */
  inline?: true;
  /** The section header a label override must start with, unchanged. */
  header?: string;
}

const port = (value: string, vars: readonly string[] = [], extra: Partial<TemplateDefinition> = {}) =>
  ({ scope: "port", vars, value, ...extra }) as TemplateDefinition;
const global = (value: string, vars: readonly string[]): TemplateDefinition => ({
  scope: "global",
  vars,
  value,
});

const checkLine =
  "check inter {healthCheckIntervalSeconds}s fall {healthCheckFalls}{healthCheckPortOptions}{healthCheckTlsOptions}";

export const templateDefinitions = {
  HTTP_FRONTEND_HEAD: global("frontend http_in\n  bind {bindAddr}:{port}\n  mode http\n  option httplog\n", [
    "bindAddr",
    "port",
  ]),
  HTTPS_FRONTEND_HEAD: global(
    "frontend https_in\n  bind {bindAddr}:{port} ssl {sslCerts}\n  mode http\n  option httplog\n",
    ["bindAddr", "port", "sslCerts"],
  ),
  HTTP_FRONTEND_APPID_HEAD: global(
    "frontend app_id_in\n  bind {bindAddr}:{port}\n  mode http\n  option httplog\n",
    ["bindAddr", "port"],
  ),
  USERLIST_HEAD: port(
    "userlist user_{backend}\n  user {user} {passwordKeyword} {passwd}\n",
    ["user", "passwd", "passwordKeyword"],
    {
      header: "userlist user_{backend}",
    },
  ),
  FRONTEND_HEAD: port(
    "frontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert}{bindOptions}\n  mode {mode}\n  option {mode}log\n",
    [],
    { header: "frontend {backend}" },
  ),
  FRONTEND_BACKEND_GLUE: port("  default_backend {backend}\n"),
  BACKEND_HEAD: port(
    "backend {backend}\n  description app {appId} service port {servicePort}\n  mode {mode}\n  balance {balance}\n",
    [],
    { header: "backend {backend}" },
  ),
  BACKEND_HTTP_OPTIONS: port("  option forwardfor\n"),
  HTTP_BACKEND_NETWORK_ALLOWED_ACL: port(
    "  acl network_allowed src {network_allowed}\n  http-request deny unless network_allowed\n",
    ["network_allowed"],
  ),
  TCP_BACKEND_NETWORK_ALLOWED_ACL: port(
    "  acl network_allowed src {network_allowed}\n  tcp-request content reject unless network_allowed\n",
    ["network_allowed"],
  ),
  BACKEND_REDIRECT_HTTP_TO_HTTPS: port("  http-request redirect scheme https code 301 unless {{ ssl_fc }}\n"),
  BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH: port(
    "  http-request redirect scheme https code 301 unless {{ ssl_fc }}\n",
  ),
  HTTP_BACKEND_REDIR: port("  http-request redirect location {redirpath} code 301 if {{ path / }}\n", [
    "redirpath",
  ]),
  HTTP_BACKEND_PROXYPASS_GLUE: port("  http-request replace-path ^{proxypath}(/|$)(.*) /\\2\n", [
    "proxypath",
  ]),
  HTTP_BACKEND_REVPROXY_GLUE: port(
    "  http-response replace-header Location ^{locationPattern} {rootpath}\\3\n",
    ["rootpath", "locationPattern"],
  ),
  BACKEND_HSTS_OPTIONS: port("  http-response set-header Strict-Transport-Security max-age=15768000\n"),
  BACKEND_STICKY_OPTIONS: port("  cookie mesosphere_server_id insert indirect nocache\n"),
  BACKEND_HTTP_HEALTHCHECK_OPTIONS: port(
    "  option httpchk GET {healthCheckPath}\n  timeout check {healthCheckTimeoutSeconds}s\n",
  ),
  BACKEND_TCP_HEALTHCHECK_OPTIONS: port("  timeout check {healthCheckTimeoutSeconds}s\n"),
  BACKEND_SERVER_OPTIONS: port(
    "  server {serverName} {host_ipv4}:{port} {cookieOptions}{healthCheckOptions}{otherOptions}\n",
    serverVariables,
  ),
  BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS: port(checkLine, [], { inline: true }),
  BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS: port(checkLine, [], { inline: true }),
} satisfies Record<string, TemplateDefinition>;

export type TemplateName = keyof typeof templateDefinitions;
export type Templates = Partial<Record<TemplateName, Template>>;

export const portTemplateNames = (Object.keys(templateDefinitions) as TemplateName[]).filter(
  (name) => templateDefinitions[name].scope === "port",
);

const isTemplateName = (name: string): name is TemplateName => Object.hasOwn(templateDefinitions, name);

/** Every variable a template may use. */
export function templateVariables(name: TemplateName): readonly string[] {
  const definition: TemplateDefinition = templateDefinitions[name];
  return definition.scope === "global" ? definition.vars : [...serviceVariables, ...definition.vars];
}

/** Splits `{var}` placeholders out of a template; `{{`/`}}` are literal braces. */
export function parseTemplate(text: string, allowed: readonly string[]): TemplateResult<Template> {
  const literal: string[] = [];
  const vars: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "{" && text[i + 1] === "{") {
      current += "{";
      i++;
    } else if (char === "}" && text[i + 1] === "}") {
      current += "}";
      i++;
    } else if (char === "{") {
      const match = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i, i + 80));
      if (!match) return { ok: false, reason: `has a "{" that is not a {variable} (write {{ for a brace)` };
      const name = match[1] as string;
      if (!allowed.includes(name))
        return { ok: false, reason: `uses {${name}}, which this template does not have` };
      literal.push(current);
      vars.push(name);
      current = "";
      i += match[0].length - 1;
    } else if (char === "}") {
      return { ok: false, reason: 'has a "}" without its "{" (write }} for a brace)' };
    } else current += char;
  }
  literal.push(current);
  return { ok: true, value: { text: literal, vars } };
}

/** Fills a parsed template; `value` answers every variable the template was checked against. */
export function fill(template: Template, value: (name: string) => string | number): string {
  let out = template.text[0] as string;
  for (let i = 0; i < template.vars.length; i++)
    out += value(template.vars[i] as string) + (template.text[i + 1] as string);
  return out;
}

/** What starts a section in HAProxy's configuration (indented or not): a label template may not. */
const sectionKeywords = new Set([
  "global",
  "defaults",
  "frontend",
  "backend",
  "listen",
  "userlist",
  "peers",
  "resolvers",
  "mailers",
  "program",
  "http-errors",
  "ring",
  "cache",
  "log-forward",
]);

const ownBind = /^\{bindAddr\}:\{servicePort\}(\{[A-Za-z_]+\})*$/;

/**
 * A per-port template from a label: the text rules of every label except that lines may break,
 * the variables of its template, and no new section (only its own fixed header line).
 */
export function parseTemplateLabel(name: TemplateName, value: unknown): TemplateResult<Template> {
  if (typeof value !== "string") return { ok: false, reason: "is not a string" };
  const definition: TemplateDefinition = templateDefinitions[name];
  const text = shaped(definition, value);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10 && definition.inline)
      return { ok: false, reason: "contains a line break (it is part of one line)" };
    if ((code < 0x20 && code !== 10 && code !== 9) || code === 0x7f)
      return { ok: false, reason: "contains a control character" };
    if (code > 0x7f) return { ok: false, reason: "contains non-ASCII characters (e.g. a no-break space)" };
  }
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.trim() !== "");
  if (definition.header !== undefined && lines[first]?.trim() !== definition.header) {
    return { ok: false, reason: `must start with the line "${definition.header}"` };
  }
  for (let i = 0; i < lines.length; i++) {
    if (i === first && definition.header !== undefined) continue;
    const word = (lines[i] as string).trim().split(/\s+/)[0] ?? "";
    if (sectionKeywords.has(word))
      return { ok: false, reason: `opens a section ("${word}"), which a label may not` };
    if (word.startsWith("{")) return { ok: false, reason: "has a line starting with a {variable}" };
    // A bind elsewhere would take another app's port or the shared frontends' from them.
    const argument = (lines[i] as string).trim().split(/\s+/)[1] ?? "";
    if (word === "bind" && !ownBind.test(argument))
      return { ok: false, reason: `binds "${argument}", not its own {bindAddr}:{servicePort}` };
    // Another app's backend reached from this port would bypass that app's bind address.
    if ((word === "use_backend" || word === "default_backend") && argument !== "{backend}")
      return { ok: false, reason: `sends traffic to "${argument}", not its own {backend}` };
  }
  return parseTemplate(text, templateVariables(name));
}

/**
 * Line ends as mhc needs them: `\r\n` as `\n`; a one-line template without its surrounding
 * blanks (marathon-lb's are written `  check …\n`); section text ending its last line, or the
 * next line of mhc's own text would join it.
 */
function shaped(definition: TemplateDefinition, value: string): string {
  const text = value.replace(/\r\n/g, "\n");
  if (definition.inline) return text.trim();
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** The default templates, parsed once. */
export const defaultTemplates = Object.fromEntries(
  (Object.keys(templateDefinitions) as TemplateName[]).map((name) => {
    const parsed = parseTemplate(templateDefinitions[name].value, templateVariables(name));
    if (!parsed.ok) throw new Error(`built-in template ${name} ${parsed.reason}`);
    return [name, parsed.value];
  }),
) as Record<TemplateName, Template>;

/**
 * Templates from a folder (`HAPROXY_<NAME>` file name → text), checked; `HAPROXY_HEAD` is returned
 * apart (it is the head). Files not named `HAPROXY_…` are not templates and are left alone.
 */
export function parseTemplateFiles(
  files: ReadonlyMap<string, string>,
): TemplateResult<{ templates: Templates; head?: string }> {
  const templates: Templates = {};
  let head: string | undefined;
  for (const [file, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!file.startsWith("HAPROXY_")) continue;
    const name = file.slice("HAPROXY_".length);
    if (name === "HEAD") {
      head = text;
      continue;
    }
    if (!isTemplateName(name)) return { ok: false, reason: `${file} is not a template mhc supports` };
    const definition: TemplateDefinition = templateDefinitions[name];
    const body = shaped(definition, text);
    if (definition.inline && body.includes("\n")) {
      return { ok: false, reason: `${file} has more than one line (it is part of a server line)` };
    }
    const parsed = parseTemplate(body, templateVariables(name));
    if (!parsed.ok) return { ok: false, reason: `${file} ${parsed.reason}` };
    templates[name] = parsed.value;
  }
  return { ok: true, value: { templates, ...(head !== undefined ? { head } : {}) } };
}
