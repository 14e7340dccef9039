import type { Dropped, ExcludedTask, Model, RenderOptions, Service } from "./model.ts";
import { type ConflictsMemo, resolveBindConflicts } from "./normalise/conflicts.ts";
import { type Deployment, mergeDeploymentGroups } from "./normalise/deployments.ts";
import {
  assignServicePorts,
  networkMode,
  type PortRequest,
  type PortSpec,
  portSpecs,
} from "./normalise/ports.ts";
import { type HostChecks, hostChecks, serversFor, taskExclusion } from "./normalise/servers.ts";
import { type AppLabels, readLabels, sanitiseName, serviceFor } from "./normalise/services.ts";
import { shapeProblem, taskShapeProblem } from "./normalise/shape.ts";
import type { MarathonApp, Snapshot } from "./snapshot.ts";

/**
 * Marathon snapshot → services and servers, as explicit passes: the JSON shape of each app,
 * blue/green deployment groups joined into one app, ports and networking (IP-per-task apps given
 * service ports), services (labels, mode, health check), servers (tasks), and conflicts
 * across apps. Pure: the same snapshot and options give the same model. One app never breaks the
 * others: whatever is wrong with it drops that app or port, with the reason in `dropped`.
 */

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Marathon's own id rules (path segments of letters, digits, dots and dashes), since ids reach the config. */
const validAppId = /^(\/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)+$/;

/** Collects group names for the "--group matched no app" warning (only needed until one matches). */
function noteGroups(seen: Set<string>, appGroups: string[], labels: AppLabels) {
  for (const group of appGroups) seen.add(group);
  for (const ofPort of labels.ports.values()) {
    const groups = ofPort.get("GROUP");
    if (typeof groups === "string") for (const g of groups.split(",")) if (g.trim()) seen.add(g.trim());
  }
}

/**
 * Each task's reason to be left out whatever the port (undefined: it may serve), or the first task
 * field with a wrong JSON type. Tasks are checked here, where they are read, for speed.
 */
function readTasks(app: MarathonApp, options: RenderOptions): (string | undefined)[] | string {
  const tasks = app.tasks ?? [];
  const exclusions: (string | undefined)[] = new Array(tasks.length);
  const healthyOnly = options.healthCheck && (app.healthChecks ?? []).some((check) => check != null);
  const taskOptions = { keepUnreachable: options.keepUnreachable, healthyOnly };
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const problem = taskShapeProblem(task, i);
    if (problem !== undefined) return problem;
    if (task) exclusions[i] = taskExclusion(task, taskOptions);
  }
  return exclusions;
}

/**
 * Whether --group could select an app mhc cannot read, judging by whatever group labels it has:
 * an app another load balancer serves is not reported as dropped here.
 */
function mayBeSelected(app: unknown, wanted: string[]): boolean {
  if (wanted.length === 0 || wanted.includes("*")) return true;
  const labels = (app as { labels?: unknown } | null)?.labels;
  if (typeof labels !== "object" || labels === null) return false;
  return Object.entries(labels).some(
    ([key, value]) =>
      /^HAPROXY_(\d+_)?GROUP$/.test(key) &&
      typeof value === "string" &&
      value.split(",").some((group) => wanted.includes(group.trim())),
  );
}

/**
 * Port specs of every app, IP-per-task apps without service ports given ports from the range
 * (stable through the published config's binds, which `incumbents` carries).
 */
function specsOf(apps: MarathonApp[], options: RenderOptions) {
  const specs = new Map<MarathonApp, PortSpec[]>();
  const requests: PortRequest[] = [];
  const needing: [MarathonApp, PortSpec[]][] = [];
  for (const app of apps) {
    const mode = networkMode(app);
    const ofApp = portSpecs(app, mode);
    specs.set(app, ofApp);
    const needsPorts = ofApp.length > 0 && ofApp.every((spec) => spec.servicePort === 0);
    if (mode === "container" && needsPorts) {
      requests.push({
        appId: app.id,
        keys: ofApp.map((spec) => String(spec.containerPort ?? `#${spec.index}`)),
      });
      needing.push([app, ofApp]);
    }
  }
  const exhausted: [string, number][] = [];
  if (requests.length === 0) return { specs, exhausted };
  const held = new Map<number, string>();
  for (const [key, appId] of options.incumbents ?? [])
    held.set(Number(key.slice(key.lastIndexOf(":") + 1)), appId);
  const assigned = assignServicePorts(requests, options.ipPerTaskPorts, held);
  for (const [app, ofApp] of needing) {
    const ports = assigned.get(app.id) ?? [];
    for (const spec of ofApp) {
      spec.servicePort = ports[spec.index] ?? 0;
      if (spec.servicePort === 0) exhausted.push([app.id, spec.index]);
    }
  }
  return { specs, exhausted };
}

const byId = (a: MarathonApp, b: MarathonApp) => compare(a.id, b.id);

const byExcludedTask = (a: ExcludedTask, b: ExcludedTask) =>
  compare(a.appId, b.appId) || compare(a.taskId, b.taskId) || compare(a.reason, b.reason);

function isSorted<T>(list: readonly T[], order: (a: T, b: T) => number): boolean {
  for (let i = 1; i < list.length; i++) if (order(list[i - 1] as T, list[i] as T) > 0) return false;
  return true;
}

/** The warning for an app (`portIndex` null) or one of its ports left out. */
const skipped = (appId: string, portIndex: number | null, reason: string) =>
  `app ${appId}${portIndex === null ? "" : ` port index ${portIndex}`} skipped: ${reason}`;

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** What the passes across apps leave for the pass of each app. */
export interface Prepared {
  /** The apps to normalise, sorted by id: readable, each id once, deployment groups merged. */
  apps: MarathonApp[];
  specs: Map<MarathonApp, PortSpec[]>;
  deployments: Map<MarathonApp, Deployment>;
  dropped: Dropped[];
  warnings: string[];
  groupMatched: boolean;
}

/**
 * The passes across apps: each entry's JSON shape (`shapeOf`, which watch mode remembers per
 * entry), ids (invalid, twice), blue/green deployment groups joined into one app, and IP-per-task
 * apps given service ports.
 */
export function prepare(
  entries: readonly MarathonApp[],
  options: RenderOptions,
  shapeOf: (entry: unknown) => string | undefined = shapeProblem,
): Prepared {
  const prepared: Prepared = {
    apps: [],
    specs: new Map(),
    deployments: new Map(),
    dropped: [],
    warnings: [],
    groupMatched: false,
  };
  const drop = (appId: string, portIndex: number | null, reason: string) => {
    prepared.dropped.push({ appId, portIndex, reason });
    prepared.warnings.push(skipped(appId, portIndex, reason));
  };
  const apps: MarathonApp[] = [];
  for (const app of entries) {
    const problem = shapeOf(app);
    if (problem === undefined) apps.push(app);
    else if (mayBeSelected(app, options.groups)) {
      prepared.groupMatched = true;
      const id = (app as { id?: unknown } | null)?.id;
      const shownId = typeof id !== "string" ? "(no id)" : validAppId.test(id) ? id : JSON.stringify(id);
      drop(shownId, null, `wrong JSON type: ${problem}`);
    }
  }
  // Marathon lists apps sorted by id already: then they are only checked, not sorted again.
  if (!isSorted(apps, byId)) apps.sort(byId);
  const seenIds = new Set<string>();
  const readable: MarathonApp[] = [];
  for (const app of apps) {
    if (!validAppId.test(app.id)) {
      drop(JSON.stringify(app.id), null, "not a valid Marathon app id");
    } else if (seenIds.has(app.id)) {
      prepared.warnings.push(`app ${app.id} appears twice in the snapshot; the second copy is ignored`);
    } else {
      seenIds.add(app.id);
      readable.push(app);
    }
  }
  const merged = mergeDeploymentGroups(readable);
  for (const { appId, reason } of merged.problems) drop(appId, null, reason);
  prepared.warnings.push(...merged.warnings);
  const { specs, exhausted } = specsOf(merged.apps, options);
  const { min, max } = options.ipPerTaskPorts;
  for (const [appId, index] of exhausted) {
    drop(
      appId,
      index,
      `no free service port for an IP-per-task app in ${min}-${max} (--min/max-serv-port-ip-per-task)`,
    );
  }
  prepared.apps = merged.apps;
  prepared.specs = specs;
  prepared.deployments = merged.deployments;
  return prepared;
}

/**
 * What one app contributes to the model before conflicts across apps are resolved. It depends only
 * on the app, its port specs and its deployment, so watch mode keeps one per app and recomputes
 * only the apps an event changed; `assemble` turns the parts into the model either way.
 */
export interface AppPart {
  services: readonly Service[];
  dropped: readonly Dropped[];
  warnings: readonly string[];
  excluded: readonly ExcludedTask[];
  ignoredLabels: readonly string[];
  unknownLabels: readonly string[];
  /** Group names the app carries, kept only while --group is given (for "matched no app"). */
  groupsSeen: readonly string[];
  groupMatched: boolean;
}

/** Shared by every part with nothing in a list: 10,000 apps need not allocate 70,000 empty arrays. */
const none: readonly never[] = Object.freeze([]);

/** Adds a warning to a part, which gets a list of its own with the first. */
function warnIn(part: AppPart, warning: string): void {
  if (part.warnings === none) part.warnings = [];
  (part.warnings as string[]).push(warning);
}

/** Leaves out an app (`portIndex` null) or one of its ports, with the warning that says why. */
function dropIn(part: AppPart, appId: string, portIndex: number | null, reason: string): void {
  if (part.dropped === none) part.dropped = [];
  (part.dropped as Dropped[]).push({ appId, portIndex, reason });
  warnIn(part, skipped(appId, portIndex, reason));
}

/** Labels of a port index the app does not have are ignored, with a warning naming them. */
function warnBeyondPorts(
  part: AppPart,
  appId: string,
  ports: number,
  byIndex: ReadonlyMap<number, ReadonlyMap<string, unknown>>,
): void {
  for (const [index, ofPort] of byIndex) {
    if (index < ports) continue;
    const names = [...ofPort.keys()].map((name) => `HAPROXY_${index}_${name}`).join(", ");
    warnIn(part, `app ${appId}: ${names} ignored: the app has no port index ${index}`);
  }
}

/** The part of one prepared app; `checkHost` may be shared by many calls (it only caches). */
export function normaliseApp(
  app: MarathonApp,
  specs: PortSpec[],
  deployment: Deployment | undefined,
  options: RenderOptions,
  checkHost: HostChecks,
): AppPart {
  const part: AppPart = {
    services: none,
    dropped: none,
    warnings: none,
    excluded: none,
    ignoredLabels: none,
    unknownLabels: none,
    groupsSeen: none,
    groupMatched: false,
  };
  const labels = readLabels(app);
  if (labels.ignored.length > 0) part.ignoredLabels = [...new Set(labels.ignored)];
  if (labels.unknown.length > 0) part.unknownLabels = [...new Set(labels.unknown)];
  if (!labels.groups.ok) {
    dropIn(part, app.id, null, labels.groups.reason);
    return part;
  }
  const appGroups = labels.groups.value ?? [];
  if (options.groups.length > 0) {
    const seen = new Set<string>();
    noteGroups(seen, appGroups, labels);
    part.groupsSeen = [...seen];
  }
  const services: Service[] = [];
  const portDrops: [number, string][] = [];
  for (const spec of specs) {
    const outcome = serviceFor(app, spec, labels, appGroups, options, part);
    if (outcome.kind === "dropped") portDrops.push([spec.index, outcome.reason]);
    if (outcome.kind !== "service") continue;
    if (outcome.warnings) for (const warning of outcome.warnings) warnIn(part, warning);
    services.push(outcome.service);
  }
  if (services.length === 0 && portDrops.length === 0) return part;
  // Fail closed: a label that restricts who may reach the app, or how, is not implemented yet,
  // so the app is not served at all rather than served without the restriction.
  const refused = labels.refused[0];
  if (refused !== undefined) {
    const more = labels.refused.length > 1 ? ` (and ${labels.refused.slice(1).join(", ")})` : "";
    dropIn(
      part,
      app.id,
      null,
      `${refused}${more} is not implemented by mhc; the app is left out rather than served without it`,
    );
    return part;
  }
  const tasks = readTasks(app, options);
  if (typeof tasks === "string") {
    dropIn(part, app.id, null, `wrong JSON type: ${tasks}`);
    return part;
  }
  const excluded = new Map<string, ExcludedTask>();
  for (const service of services) {
    const spec = specs[service.portIndex] as PortSpec;
    const checkIndex = service.healthCheckPortIndex;
    const checkSpec = checkIndex === undefined ? undefined : specs[checkIndex];
    if (checkIndex !== undefined && !checkSpec) {
      warnIn(
        part,
        `app ${app.id}: HAPROXY_${service.portIndex}_BACKEND_HEALTHCHECK_PORT_INDEX ignored: the app has no port index ${checkIndex}`,
      );
      delete service.healthCheckPortIndex;
    }
    service.servers = serversFor(app, spec, tasks, checkHost, excluded, checkSpec, deployment?.draining);
    if (deployment) {
      // The group's port (zdd's HAPROXY_0_PORT) names it, as marathon-lb does: the colours' own
      // service ports alternate, the backend stays the same one through every deployment.
      service.servicePort = service.bindPort;
      service.name = sanitiseName(`${app.id.slice(1).replace(/\//g, "_")}_${service.bindPort}`);
      service.blueGreen = {
        newApp: deployment.newApp,
        ...(deployment.newColour ? { newColour: deployment.newColour } : {}),
        oldApps: deployment.oldApps,
        newServers: service.servers.filter((s) => deployment.newTasks.has(s.taskId)).length,
      };
    }
  }
  for (const [index, reason] of portDrops) dropIn(part, app.id, index, reason);
  warnBeyondPorts(part, app.id, specs.length, labels.ports);
  warnBeyondPorts(part, app.id, specs.length, labels.templates);
  part.services = services;
  // Tasks left out whatever the port are reported once, for apps that are rendered at all.
  if (services.length > 0) {
    tasks.forEach((reason, i) => {
      if (reason === undefined) return;
      const taskId = app.tasks?.[i]?.id ?? "(no id)";
      excluded.set(`${app.id}\u0000${taskId}\u0000${reason}`, { appId: app.id, taskId, reason });
    });
  }
  // In the model's order already, so the model's list of 10,000 apps is only checked, not sorted.
  if (excluded.size > 0) part.excluded = [...excluded.values()].sort(byExcludedTask);
  return part;
}

/**
 * The model from the passes across apps and the part of each prepared app (in `prepared.apps`
 * order): label counts, the --group warning, bind conflicts (`conflicts` keeps the last pass, for
 * watch mode), and the order of the lists.
 */
export function assemble(
  prepared: Prepared,
  parts: readonly AppPart[],
  options: RenderOptions,
  conflicts?: ConflictsMemo,
): Model {
  const warnings = [...prepared.warnings];
  const dropped = [...prepared.dropped];
  const excluded: ExcludedTask[] = [];
  const ignored = new Map<string, number>();
  const unknown = new Map<string, number>();
  const count = (counts: Map<string, number>, names: readonly string[]) => {
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  const groupsSeen = new Set<string>();
  let groupMatched = prepared.groupMatched;
  const candidates: Service[] = [];
  for (const part of parts) {
    for (const warning of part.warnings) warnings.push(warning);
    for (const drop of part.dropped) dropped.push(drop);
    for (const task of part.excluded) excluded.push(task);
    count(ignored, part.ignoredLabels);
    count(unknown, part.unknownLabels);
    for (const group of part.groupsSeen) groupsSeen.add(group);
    groupMatched ||= part.groupMatched;
    for (const service of part.services) candidates.push(service);
  }
  for (const [name, apps] of [...ignored].sort(([a], [b]) => compare(a, b))) {
    warnings.push(`label ${name} is not supported by mhc and was ignored (${plural(apps, "app")})`);
  }
  for (const [name, apps] of [...unknown].sort(([a], [b]) => compare(a, b))) {
    warnings.push(`label ${name} is not known to mhc and was ignored (${plural(apps, "app")})`);
  }
  const wanted = options.groups;
  if (wanted.length > 0 && !wanted.includes("*") && !groupMatched) {
    const seen = [...groupsSeen].sort(compare);
    const listed =
      seen.length > 20 ? `${seen.slice(0, 20).join(", ")} and ${seen.length - 20} more` : seen.join(", ");
    warnings.push(
      `--group ${wanted.join(",")} matched no app; ${seen.length > 0 ? `groups in Marathon: ${listed}` : "no app has a HAPROXY_GROUP label"}`,
    );
  }
  const services = resolveBindConflicts(
    candidates,
    options,
    (service, reason) => {
      dropped.push({ appId: service.appId, portIndex: service.portIndex, reason });
      warnings.push(skipped(service.appId, service.portIndex, reason));
    },
    conflicts,
  );
  if (!isSorted(excluded, byExcludedTask)) excluded.sort(byExcludedTask);
  dropped.sort(
    (a, b) =>
      compare(a.appId, b.appId) || (a.portIndex ?? -1) - (b.portIndex ?? -1) || compare(a.reason, b.reason),
  );
  return { services, excluded, dropped, warnings };
}

export function normalise(snapshot: Snapshot, options: RenderOptions): Model {
  const prepared = prepare(snapshot.apps, options);
  const checkHost = hostChecks();
  const parts = prepared.apps.map((app) =>
    normaliseApp(
      app,
      prepared.specs.get(app) as PortSpec[],
      prepared.deployments.get(app),
      options,
      checkHost,
    ),
  );
  return assemble(prepared, parts, options);
}
