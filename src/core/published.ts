import { canonicalBindOf } from "./address.ts";
import { flat } from "./flat.ts";
import type { Dropped, ExcludedTask, HealthCheck, Model, Server, Service } from "./model.ts";

/**
 * The published model: what sync commits beside the config (`<path>.mhc.json`) so that commit
 * messages, gates and the incumbent rule read a stable document instead of mhc's own config text,
 * which a head or (later) a template can change. Deterministic: sorted keys, services sorted by
 * backend name, one server per line, no timestamps.
 */

export const modelSchema = 1;

/** `draining` is written only when true, so model files of apps without blue/green stay as they were. */
export type PublishedServer = Omit<Server, "taskId" | "draining"> & { draining?: true };

export interface PublishedService extends Omit<Service, "servers" | "pathsIgnoreCase"> {
  /** Absent in model files written before PATH `-i` was read. */
  pathsIgnoreCase?: boolean;
  servers: PublishedServer[];
}

export interface PublishedModel {
  schema: typeof modelSchema;
  services: PublishedService[];
  dropped: Dropped[];
  excluded: ExcludedTask[];
}

export const emptyModel: PublishedModel = { schema: modelSchema, services: [], dropped: [], excluded: [] };

/** Where the model file of a config lives in the repo. */
export const modelPath = (configPath: string) => `${configPath}.mhc.json`;

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Each service's published form and its text in the model file, kept for as long as the service
 * object lives: a normalised service is never changed, and watch mode keeps the services of
 * unchanged apps from sync to sync, so only changed services are converted and written again.
 */
const publishedServices = new WeakMap<Service, PublishedService>();
const serviceTexts = new WeakMap<PublishedService, { indent: string; line: string }>();

function publishedServiceOf(service: Service): PublishedService {
  let published = publishedServices.get(service);
  if (!published) {
    const { servers, pathsIgnoreCase, ...settings } = service;
    published = {
      ...settings,
      ...(pathsIgnoreCase ? { pathsIgnoreCase } : {}),
      servers: servers.map(({ name, host, port, draining, checkPort }) => ({
        name,
        host,
        port,
        ...(draining ? { draining } : {}),
        ...(checkPort === undefined ? {} : { checkPort }),
      })),
    };
    publishedServices.set(service, published);
    serviceTexts.set(published, { indent: "", line: "" });
  }
  return published;
}

export function publishedModelOf(model: Model): PublishedModel {
  const services = model.services.map(publishedServiceOf).sort((a, b) => compare(a.name, b.name));
  return { schema: modelSchema, services, dropped: model.dropped, excluded: model.excluded };
}

/** A Service to render again (quarantine keeps a service's published version). */
export function serviceOf(published: PublishedService): Service {
  return {
    ...published,
    pathsIgnoreCase: published.pathsIgnoreCase === true,
    servers: published.servers.map((s) => ({ ...s, taskId: "(published)", draining: s.draining === true })),
  };
}

function isFlat(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === "object" && field !== null) return false;
  }
  return true;
}

/**
 * Sorted, quoted keys per set of keys: the same few shapes (a server, a dropped app) repeat
 * 100,000 times in a big cluster.
 */
const keyOrders = new Map<string, [string, string][]>();

function flatText(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const shape = keys.join("\u0000");
  let order = keyOrders.get(shape);
  if (!order) {
    order = [...keys].sort(compare).map((key) => [key, `${JSON.stringify(key)}:`]);
    keyOrders.set(shape, order);
  }
  let text = "";
  for (const [key, quoted] of order) {
    const field = record[key];
    if (field === undefined) continue;
    text += `${text === "" ? "" : ","}${quoted}${typeof field === "number" ? field : JSON.stringify(field)}`;
  }
  return `{${text}}`;
}

/**
 * The line of each entry of the model's lists (an excluded task, a dropped app), for as long as it
 * lives: watch mode keeps them from sync to sync with the app they belong to. Servers and other
 * flat objects deeper down are kept with their service's text instead.
 */
const flatTexts = new WeakMap<object, string>();
const listEntryIndent = "    ";

/**
 * Appends an entry of a list with its indent. Kept services and list entries are kept with their
 * indent, so a list of 12,000 kept entries is appended as flat strings without building a new
 * string per entry.
 */
function appendLine(out: string[], value: unknown, indent: string): void {
  const kept = serviceTexts.get(value as PublishedService);
  if (kept?.indent === indent && kept.line !== "") {
    out.push(kept.line);
    return;
  }
  const listEntry = indent === listEntryIndent && typeof value === "object" && value !== null;
  const keptEntry = listEntry ? flatTexts.get(value) : undefined;
  if (keptEntry !== undefined) {
    out.push(keptEntry);
    return;
  }
  const pieces = [indent];
  append(pieces, value, indent);
  const text = pieces.join("");
  // Flattened once: the kept line is appended to every later model file.
  if (kept) serviceTexts.set(value as PublishedService, { indent, line: flat(text) });
  else if (listEntry) flatTexts.set(value, flat(text));
  out.push(text);
}

function append(out: string[], value: unknown, indent: string): void {
  if (isFlat(value)) out.push(flatText(value));
  else appendNested(out, value, indent);
}

function appendNested(out: string[], value: unknown, indent: string): void {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push("[]");
      return;
    }
    out.push("[\n");
    value.forEach((entry, i) => {
      if (i > 0) out.push(",\n");
      appendLine(out, entry, inner);
    });
    out.push(`\n${indent}]`);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => compare(a, b));
  out.push("{\n");
  entries.forEach(([key, field], i) => {
    out.push(`${i > 0 ? ",\n" : ""}${inner}${JSON.stringify(key)}: `);
    append(out, field, inner);
  });
  out.push(`\n${indent}}`);
}

/**
 * The model file's text: JSON, sorted keys, one flat object (a server, a health check) per line.
 * Its pieces are joined once: a 10,000-app model file is 13 MB, and every join of it is a copy.
 */
export function serialiseModel(model: PublishedModel): string {
  const out: string[] = [];
  append(out, model, "");
  out.push("\n");
  return out.join("");
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads a model file; undefined when it is not a schema-1 model (hand-edited, truncated, or from a
 * newer mhc), so the caller falls back to reading the config.
 */
export function parseModelFile(text: string): PublishedModel | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.schema !== modelSchema) return undefined;
  const { services, dropped, excluded } = value;
  if (!Array.isArray(services) || !Array.isArray(dropped) || !Array.isArray(excluded)) return undefined;
  const serviceOk = (s: unknown) =>
    isRecord(s) &&
    typeof s.name === "string" &&
    typeof s.appId === "string" &&
    typeof s.bindAddress === "string" &&
    typeof s.bindPort === "number" &&
    Array.isArray(s.servers) &&
    s.servers.every((v) => isRecord(v) && typeof v.host === "string" && typeof v.port === "number");
  const droppedOk = (d: unknown) =>
    isRecord(d) && typeof d.appId === "string" && typeof d.reason === "string";
  const excludedOk = (e: unknown) =>
    isRecord(e) &&
    typeof e.appId === "string" &&
    typeof e.taskId === "string" &&
    typeof e.reason === "string";
  if (!services.every(serviceOk) || !dropped.every(droppedOk) || !excluded.every(excludedOk))
    return undefined;
  return value as unknown as PublishedModel;
}

/** The comment render writes in a blue/green backend. */
const blueGreenComment =
  /^# blue\/green: new (\S+)(?: \((\S+)\))? (\d+) servers?, old (none|(\S+) \d+ servers?), \d+ draining$/;

function splitBind(text: string): { address: string; port: number } {
  const match = /^(?:\[(.*)\]|(.*)):(\d+)$/.exec(text);
  return { address: match?.[1] ?? match?.[2] ?? text, port: Number(match?.[3] ?? 0) };
}

/**
 * The fallback reader, for a config published before model files existed (or written by
 * `render -o`, which has none): it reads only what mhc's own render writes — the `bind` of each
 * service frontend, a backend's `description app <id> service port <n>`, `mode`, `balance`,
 * `option httpchk`, `timeout check` and `server` lines, and the `acl host_…`/`path_…` lines of
 * `frontend http_in`. Backends without a `description app` line are not mhc's and are ignored.
 * Unknowable here: port indexes (counted per app instead), routing weights (0), dropped apps and
 * excluded tasks (none).
 */
export function readConfigText(text: string): PublishedModel {
  const binds = new Map<string, string>();
  const routes = new Map<string, { vhosts: string[]; paths: string[]; pathsIgnoreCase?: boolean }>();
  const services: PublishedService[] = [];
  const ofApp = new Map<string, number>();
  let section = "";
  let name = "";
  let current: PublishedService | undefined;
  let check: Partial<HealthCheck> | undefined;
  const finish = () => {
    if (current && check)
      current.healthCheck = { kind: "tcp", tls: false, path: "/", ...check } as HealthCheck;
    current = undefined;
    check = undefined;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const blueGreen = current && blueGreenComment.exec(line);
    if (current && blueGreen) {
      current.blueGreen = {
        newApp: blueGreen[1] as string,
        ...(blueGreen[2] ? { newColour: blueGreen[2] } : {}),
        oldApps: blueGreen[5] ? blueGreen[5].split(",") : [],
        newServers: Number(blueGreen[3]),
      };
    }
    if (line === "" || line.startsWith("#")) continue;
    const words = line.split(/\s+/);
    if (!/^\s/.test(raw)) {
      finish();
      section = words[0] ?? "";
      name = words[1] ?? "";
      continue;
    }
    if (section === "frontend" && name === "http_in") {
      const acl = /^acl (host|path)_(\S+) (.*)$/.exec(line);
      if (!acl) continue;
      const route = routes.get(acl[2] as string) ?? { vhosts: [], paths: [] };
      const criterion = (acl[3] as string).split(/\s+/);
      if (acl[1] === "path" && criterion[1] === "-i") {
        route.paths.push(...criterion.slice(2));
        route.pathsIgnoreCase = true;
      } else if (acl[1] === "path") route.paths.push(...criterion.slice(1));
      else if (criterion.includes("-m")) route.vhosts.push(...criterion.slice(4).map((h) => `*${h}`));
      else route.vhosts.push(...criterion.slice(2));
      routes.set(acl[2] as string, route);
    } else if (section === "frontend" && words[0] === "bind") binds.set(name, words[1] ?? "");
    else if (section === "backend" && words[0] === "description" && words[1] === "app" && words[2]) {
      const index = ofApp.get(words[2]) ?? 0;
      ofApp.set(words[2], index + 1);
      current = {
        appId: words[2],
        portIndex: index,
        servicePort: Number(words[5] ?? 0),
        name,
        bindAddress: "*",
        bindPort: 0,
        mode: "tcp",
        balance: "roundrobin",
        vhosts: [],
        paths: [],
        backendWeight: 0,
        servers: [],
      };
      services.push(current);
    } else if (current) {
      if (words[0] === "mode") current.mode = words[1] === "http" ? "http" : "tcp";
      else if (words[0] === "balance") current.balance = words.slice(1).join(" ");
      else if (words[0] === "option" && words[1] === "httpchk")
        check = { ...check, kind: "http", path: words[3] ?? "/" };
      else if (words[0] === "timeout" && words[1] === "check")
        check = { ...check, timeoutSeconds: Number.parseInt(words[2] ?? "0", 10) };
      else if (words[0] === "server" && words[2]) {
        const { address, port } = splitBind(words[2]);
        const server = { name: words[1] ?? "", host: address, port };
        current.servers.push(words.includes("disabled") ? { ...server, draining: true } : server);
        const inter = words.indexOf("inter");
        if (inter > 0) {
          const port = words.indexOf("port");
          check = {
            ...check,
            ...(port > 0 ? { port: Number(words[port + 1]) } : {}),
            intervalSeconds: Number.parseInt(words[inter + 1] ?? "0", 10),
            fall: Number(words[words.indexOf("fall") + 1] ?? 0),
            tls: words.includes("check-ssl"),
          };
        }
      }
    }
  }
  finish();
  for (const service of services) {
    const bind = splitBind(binds.get(service.name) ?? "*:0");
    service.bindAddress = bind.address;
    service.bindPort = bind.port;
    if (!service.servicePort) service.servicePort = bind.port;
    const route = routes.get(service.name);
    if (route) Object.assign(service, route);
  }
  services.sort((a, b) => compare(a.name, b.name));
  return { schema: modelSchema, services, dropped: [], excluded: [] };
}

/** Who owns each bind in a published model, for the incumbent rule. */
export function incumbentsOf(model: PublishedModel): Map<string, string> {
  return new Map(model.services.map((s) => [canonicalBindOf(s).key, s.appId]));
}
