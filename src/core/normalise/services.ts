import {
  classifyLabel,
  type LabelResult,
  type PortLabelName,
  type PortLabelValues,
  parseCheckPath,
  parseGroups,
  portLabels,
  templateEntry,
} from "../labels.ts";
import type { HealthCheck, Mode, RenderOptions, Service } from "../model.ts";
import type { MarathonApp, MarathonHealthCheck } from "../snapshot.ts";
import { parseTemplateLabel, type TemplateName, type Templates } from "../templates.ts";
import { isPort, type PortSpec } from "./ports.ts";

/**
 * Pass 2, services: an app's labels read against the label table, and one service per service
 * port with its routing, mode and health check (servers come in the next pass).
 */

/** An app's `HAPROXY_*` labels, sorted by what the label table says about them. */
export interface AppLabels {
  /** `HAPROXY_GROUP`, parsed. */
  groups: LabelResult<string[] | undefined>;
  /** Raw values of implemented per-port labels, by port index. */
  ports: Map<number, Map<PortLabelName, unknown>>;
  /** Raw per-port template overrides, by port index. */
  templates: Map<number, Map<TemplateName, unknown>>;
  /** Full names of labels that restrict access and are not implemented: the app must not be served. */
  refused: string[];
  /** Table titles of known labels mhc does not implement (reported, app rendered). */
  ignored: string[];
  /** Generic names (`HAPROXY_{n}_FOO`) of labels the table does not know. */
  unknown: string[];
}

/** A value as a warning quotes it: strings quoted and cut at 60 characters; other JSON by its type. */
const shown = (value: unknown) => {
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (typeof value !== "string") return Array.isArray(value) ? "(a list)" : "(an object)";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
};

/** `HAPROXY_0_BALANCE "random(0)" is not a valid balance`: the sentence a warning and a commit show. */
export const labelProblem = (name: string, value: unknown, reason: string) =>
  `${name} ${shown(value)} ${reason}`;

// Shared by every app without such labels (most of 10,000): never written to, only replaced.
const noGroups: LabelResult<string[] | undefined> = { ok: true, value: undefined };
const noPorts: Map<number, Map<PortLabelName, unknown>> = new Map();
const noTemplates: Map<number, Map<TemplateName, unknown>> = new Map();
const noNames: string[] = [];

export function readLabels(app: MarathonApp): AppLabels {
  const labels = app.labels ?? {};
  const result: AppLabels = {
    groups: noGroups,
    ports: noPorts,
    templates: noTemplates,
    refused: noNames,
    ignored: noNames,
    unknown: noNames,
  };
  for (const key in labels) {
    const label = classifyLabel(key);
    if (!label) continue;
    const value = labels[key];
    const entry = label.entry;
    if (!entry) {
      if (result.unknown === noNames) result.unknown = [];
      result.unknown.push(label.level === "app" ? key : `HAPROXY_{n}_${label.name}`);
    } else if (entry.support === "refused") {
      if (result.refused === noNames) result.refused = [];
      result.refused.push(key);
    } else if (entry.support === "ignored") {
      if (result.ignored === noNames) result.ignored = [];
      result.ignored.push(entry.title);
    } else if (entry === templateEntry && label.level === "port") {
      if (result.templates === noTemplates) result.templates = new Map();
      const ofPort = result.templates.get(label.index) ?? new Map<TemplateName, unknown>();
      ofPort.set(label.name as TemplateName, value);
      result.templates.set(label.index, ofPort);
    } else if (label.level === "app") {
      // Deployment labels are read by the deployments pass, before this one.
      if (label.name !== "GROUP") continue;
      const groups = parseGroups(value);
      result.groups = groups.ok ? groups : { ok: false, reason: labelProblem(key, value, groups.reason) };
    } else {
      if (result.ports === noPorts) result.ports = new Map();
      const ofPort = result.ports.get(label.index) ?? new Map<PortLabelName, unknown>();
      ofPort.set(label.name as PortLabelName, value);
      result.ports.set(label.index, ofPort);
    }
  }
  if (result.refused.length > 1) result.refused.sort();
  return result;
}

/** Parses the implemented labels of port n; the first invalid one is the reason to drop the port. */
const portLabelNames = Object.keys(portLabels) as PortLabelName[];

export function parsePortLabels(
  raw: Map<PortLabelName, unknown> | undefined,
  n: number,
  names: readonly PortLabelName[] = portLabelNames,
): LabelResult<PortLabelValues> {
  const values: Record<string, unknown> = {};
  if (!raw) return { ok: true, value: values };
  // In table order, so the label reported first does not depend on the JSON's key order.
  for (const name of names) {
    if (!raw.has(name)) continue;
    const value = raw.get(name);
    const label = portLabels[name];
    const parsed = label.parse(value);
    if (!parsed.ok) {
      // A secret (AUTH's password) is never quoted: reasons reach warnings and commit messages.
      const key = `HAPROXY_${n}_${name}`;
      const reason = "secret" in label ? `${key} ${parsed.reason}` : labelProblem(key, value, parsed.reason);
      return { ok: false, reason };
    }
    values[name] = parsed.value;
  }
  return { ok: true, value: values as PortLabelValues };
}

export function matchesGroups(wanted: string[], groups: string[]): boolean {
  if (wanted.length === 0 || wanted.includes("*")) return true;
  return groups.some((g) => wanted.includes(g));
}

/**
 * The check of port index n: one given by `portIndex` (a missing index means 0), else one given by
 * an absolute `port`, which Marathon runs against that port of the task's host whatever the index.
 */
export function healthCheckFor(app: MarathonApp, portIndex: number): MarathonHealthCheck | undefined {
  const checks = app.healthChecks;
  if (!checks) return undefined;
  let byPort: MarathonHealthCheck | undefined;
  for (const check of checks) {
    if (!check) continue;
    if (check.port == null && (check.portIndex ?? 0) === portIndex) return check;
    if (check.port != null && check.portIndex == null) byPort ??= check;
  }
  return byPort;
}

/** HAProxy 2.6 keeps times in signed 32-bit milliseconds and counts in signed 32-bit integers. */
const maxSeconds = 2147483;
const maxCount = 2147483647;

/** A whole number in 1..max, the fallback when absent or below 1 (Marathon's 0 means "never"), or a problem. */
function bounded(
  check: MarathonHealthCheck,
  field: keyof MarathonHealthCheck,
  max: number,
  fallback: number,
) {
  const value = check[field];
  if (typeof value !== "number" || !(value >= 1)) return fallback;
  const whole = Math.round(value);
  return whole <= max ? whole : `health check ${field} ${value} is above HAProxy's limit (${max})`;
}

const httpProtocols = new Set(["HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"]);

export function translateHealthCheck(
  check: MarathonHealthCheck | undefined,
): LabelResult<HealthCheck | undefined> {
  const protocol = check?.protocol?.toUpperCase();
  if (!check || !protocol) return { ok: true, value: undefined };
  const intervalSeconds = bounded(check, "intervalSeconds", maxSeconds, 60);
  if (typeof intervalSeconds === "string") return { ok: false, reason: intervalSeconds };
  const timeoutSeconds = bounded(check, "timeoutSeconds", maxSeconds, 20);
  if (typeof timeoutSeconds === "string") return { ok: false, reason: timeoutSeconds };
  // Marathon's 0 means "never kill"; HAProxy still needs a count, so use its default.
  const fall = bounded(check, "maxConsecutiveFailures", maxCount, 3);
  if (typeof fall === "string") return { ok: false, reason: fall };
  if (check.port != null && !isPort(check.port)) {
    return { ok: false, reason: `health check port ${check.port} is not a port number (1-65535)` };
  }
  let value: HealthCheck;
  if (protocol === "TCP" || protocol === "MESOS_TCP") {
    value = { kind: "tcp", tls: false, path: "/", intervalSeconds, timeoutSeconds, fall };
  } else if (httpProtocols.has(protocol)) {
    const path = parseCheckPath(check.path);
    if (!path.ok) return { ok: false, reason: `health check path ${shown(check.path)} ${path.reason}` };
    value = {
      kind: "http",
      tls: protocol.endsWith("HTTPS"),
      path: path.value,
      intervalSeconds,
      timeoutSeconds,
      fall,
    };
  } else {
    return { ok: true, value: undefined }; // COMMAND and unknown protocols: HAProxy's plain connect check.
  }
  if (check.port != null) value.port = check.port;
  return { ok: true, value };
}

export function sanitiseName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** What one port of an app gives: a service (servers still empty), nothing, or a reason to drop it. */
export type ServiceOutcome =
  | { kind: "service"; service: Service; warnings?: string[] }
  | { kind: "hidden" }
  | { kind: "dropped"; reason: string };

const hidden: ServiceOutcome = { kind: "hidden" };
const noLabels: PortLabelValues = {};
const selectionLabels: readonly PortLabelName[] = ["GROUP", "ENABLED"];

/** One service (app × service port) from its labels and health check. `selection.groupMatched` is set when --group selects it. */
export function serviceFor(
  app: MarathonApp,
  spec: PortSpec,
  labels: AppLabels,
  appGroups: string[],
  options: RenderOptions,
  selection: { groupMatched: boolean },
): ServiceOutcome {
  const n = spec.index;
  const raw = labels.ports.get(n);
  let values: PortLabelValues = noLabels;
  if (raw) {
    // GROUP and ENABLED first: the other labels of a port that is not rendered are not read at all.
    const group = parsePortLabels(raw, n, selectionLabels);
    if (!group.ok) return { kind: "dropped", reason: group.reason };
    if (!matchesGroups(options.groups, group.value.GROUP ?? appGroups)) return hidden;
    selection.groupMatched = true;
    if (group.value.ENABLED === false || (options.strictMode && group.value.ENABLED !== true)) return hidden;
    const parsed = parsePortLabels(raw, n);
    if (!parsed.ok) return { kind: "dropped", reason: parsed.reason };
    values = parsed.value;
  } else {
    if (!matchesGroups(options.groups, appGroups)) return hidden;
    selection.groupMatched = true;
    if (options.strictMode) return hidden;
  }

  if (values.PORT === undefined && spec.invalidServicePort !== undefined)
    return {
      kind: "dropped",
      reason: `service port ${spec.invalidServicePort} is not a port number (1-65535)`,
    };
  const bindPort = values.PORT ?? spec.servicePort;
  if (!bindPort) return hidden; // no service port: nothing to bind, like the original script
  const templates = portTemplates(labels.templates.get(n), n);
  if (typeof templates === "string") return { kind: "dropped", reason: templates };
  // BACKEND_HEALTHCHECK_PORT_INDEX: a port without a check of its own uses that port's check.
  const checkIndex = values.BACKEND_HEALTHCHECK_PORT_INDEX;
  const check = translateHealthCheck(
    healthCheckFor(app, n) ?? (checkIndex === undefined ? undefined : healthCheckFor(app, checkIndex)),
  );
  if (!check.ok) return { kind: "dropped", reason: check.reason };

  let vhosts = values.VHOST ?? [];
  let paths = values.PATH?.paths ?? [];
  const warnings: string[] = [];
  if (options.ignorePathWithoutVhost && vhosts.length === 0 && paths.length > 0) {
    warnings.push(
      `app ${app.id} port index ${n}: PATH ignored because it has no VHOST (--ignore-path-without-vhost)`,
    );
    paths = [];
  }
  const routed = vhosts.length > 0 || paths.length > 0;
  const checkIsPlainHttp = check.value?.kind === "http" && !check.value.tls;
  const mode: Mode = values.MODE ?? (routed || checkIsPlainHttp ? "http" : "tcp");
  if (routed && mode === "tcp") {
    warnings.push(
      `app ${app.id} port index ${n}: VHOST/PATH ignored because MODE is tcp (routing by Host needs http)`,
    );
    vhosts = [];
    paths = [];
  }
  const refusal = mode === "tcp" ? tcpRefusal(values, n, app.id, warnings) : undefined;
  if (refusal !== undefined) return { kind: "dropped", reason: refusal };
  if (values.AUTH && !values.AUTH.hashed) {
    warnings.push(
      `app ${app.id} port index ${n}: HAPROXY_${n}_AUTH has a plaintext password, which is committed to git with the config; use a crypt(3) hash (mkpasswd -m sha-512)`,
    );
  }
  const appPath = app.id.replace(/^\/+/, "");
  // Built field by field rather than from spreads: one object per service, not one per optional field.
  const service: Service = {
    appId: app.id,
    portIndex: n,
    servicePort: spec.servicePort,
    name: sanitiseName(`${appPath.replace(/\//g, "_")}_${spec.servicePort || bindPort}`),
    bindAddress: values.BIND_ADDR ?? "*",
    bindPort,
    mode,
    balance: values.BALANCE ?? "roundrobin",
    vhosts,
    paths,
    pathsIgnoreCase: paths.length > 0 && values.PATH?.ignoreCase === true,
    backendWeight: values.BACKEND_WEIGHT ?? 0,
  } as Service;
  if (check.value) service.healthCheck = check.value;
  if (checkIndex !== undefined && checkIndex !== n) service.healthCheckPortIndex = checkIndex;
  if (mode === "http") copyHttpLabels(values, service);
  if (values.BACKEND_NETWORK_ALLOWED_ACL) service.allowedSources = values.BACKEND_NETWORK_ALLOWED_ACL;
  if (values.SSL_CERT) service.sslCert = values.SSL_CERT;
  if (values.BIND_OPTIONS) service.bindOptions = values.BIND_OPTIONS;
  if (templates) service.templates = templates;
  service.servers = [];
  return warnings.length > 0 ? { kind: "service", service, warnings } : { kind: "service", service };
}

/** Labels that restrict access or how: without http mode the port is not served at all. */
const httpRestrictions = ["AUTH", "REDIRECT_TO_HTTPS", "USE_HSTS"] as const;
const httpOnly = [
  "STICKY",
  "HTTP_BACKEND_PROXYPASS_PATH",
  "HTTP_BACKEND_REVPROXY_PATH",
  "HTTP_BACKEND_REDIR",
] as const;

/**
 * Checks the http-only labels of a tcp port: the reason to drop it (a restriction that tcp mode
 * cannot apply), or undefined, with a warning for the labels that are only ignored.
 */
function tcpRefusal(
  values: PortLabelValues,
  n: number,
  appId: string,
  warnings: string[],
): string | undefined {
  const restriction = httpRestrictions.find((name) => values[name] !== undefined && values[name] !== false);
  if (restriction) {
    return `HAPROXY_${n}_${restriction} needs http mode (set HAPROXY_${n}_MODE=http or a VHOST); the port is left out rather than served without it`;
  }
  const ignored = httpOnly.filter((name) => values[name] !== undefined && values[name] !== false);
  if (ignored.length > 0) {
    const names = ignored.map((name) => `HAPROXY_${n}_${name}`).join(", ");
    warnings.push(`app ${appId} port index ${n}: ${names} ignored because MODE is tcp (needs http)`);
  }
  return undefined;
}

/** The http-only labels of an http port, onto its service (only those that are set). */
function copyHttpLabels(values: PortLabelValues, service: Service): void {
  if (values.AUTH) service.auth = values.AUTH;
  if (values.REDIRECT_TO_HTTPS) service.redirectToHttps = true;
  if (values.USE_HSTS) service.hsts = true;
  if (values.STICKY) service.sticky = true;
  if (values.HTTP_BACKEND_PROXYPASS_PATH) service.proxyPassPath = values.HTTP_BACKEND_PROXYPASS_PATH;
  if (values.HTTP_BACKEND_REVPROXY_PATH) service.revProxyPath = values.HTTP_BACKEND_REVPROXY_PATH;
  if (values.HTTP_BACKEND_REDIR) service.rootRedirect = values.HTTP_BACKEND_REDIR;
}

/** A port's template labels, checked in name order (the first bad one is the reason to drop the port). */
function portTemplates(
  raw: Map<TemplateName, unknown> | undefined,
  n: number,
): Templates | undefined | string {
  if (!raw) return undefined;
  const templates: Templates = {};
  for (const name of [...raw.keys()].sort()) {
    const parsed = parseTemplateLabel(name, raw.get(name));
    if (!parsed.ok) return labelProblem(`HAPROXY_${n}_${name}`, raw.get(name), parsed.reason);
    templates[name] = parsed.value;
  }
  return templates;
}
