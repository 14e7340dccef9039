import type { Dropped, ExcludedTask, Model, RenderOptions, Service } from "./model.ts";
import { resolveBindConflicts } from "./normalise/conflicts.ts";
import { type PortSpec, portSpecs } from "./normalise/ports.ts";
import { type HostChecks, hostChecks, serversFor, taskExclusion } from "./normalise/servers.ts";
import { type AppLabels, readLabels, serviceFor } from "./normalise/services.ts";
import { shapeProblem, taskShapeProblem } from "./normalise/shape.ts";
import type { MarathonApp, Snapshot } from "./snapshot.ts";

/**
 * Marathon snapshot → services and servers, as explicit passes: the JSON shape of each app, then
 * ports and networking, services (labels, mode, health check), servers (tasks), and conflicts
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
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const problem = taskShapeProblem(task, i);
    if (problem !== undefined) return problem;
    if (task) exclusions[i] = taskExclusion(task, options);
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

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/**
 * What one snapshot entry contributes to the model before conflicts across apps are resolved. Pure
 * and independent of every other app, so watch mode keeps one per app and recomputes only the
 * apps an event changed; `assemble` turns a list of them into the model either way.
 */
export interface AppPart {
  /** The app id ("" when the entry has no string id); parts are assembled in this order. */
  id: string;
  /** The entry's JSON shape is wrong: its drop is reported ahead of every other app's. */
  shapeDropped: boolean;
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

/** The part of one snapshot entry; `checkHost` may be shared by many calls (it only caches). */
export function normaliseApp(entry: MarathonApp, options: RenderOptions, checkHost: HostChecks): AppPart {
  const rawId = (entry as { id?: unknown } | null)?.id;
  const dropped: Dropped[] = [];
  const warnings: string[] = [];
  const part: AppPart = {
    id: typeof rawId === "string" ? rawId : "",
    shapeDropped: false,
    services: none,
    dropped,
    warnings,
    excluded: none,
    ignoredLabels: none,
    unknownLabels: none,
    groupsSeen: none,
    groupMatched: false,
  };
  const drop = (appId: string, portIndex: number | null, reason: string) => {
    dropped.push({ appId, portIndex, reason });
    warnings.push(`app ${appId}${portIndex === null ? "" : ` port index ${portIndex}`} skipped: ${reason}`);
  };
  const problem = shapeProblem(entry);
  if (problem !== undefined) {
    part.shapeDropped = true;
    if (mayBeSelected(entry, options.groups)) {
      part.groupMatched = true;
      const shownId =
        typeof rawId !== "string" ? "(no id)" : validAppId.test(rawId) ? rawId : JSON.stringify(rawId);
      drop(shownId, null, `wrong JSON type: ${problem}`);
    }
    return part;
  }
  const app = entry;
  if (!validAppId.test(app.id)) {
    drop(JSON.stringify(app.id), null, "not a valid Marathon app id");
    return part;
  }
  const labels = readLabels(app);
  if (labels.ignored.length > 0) part.ignoredLabels = [...new Set(labels.ignored)];
  if (labels.unknown.length > 0) part.unknownLabels = [...new Set(labels.unknown)];
  if (!labels.groups.ok) {
    drop(app.id, null, labels.groups.reason);
    return part;
  }
  const appGroups = labels.groups.value ?? [];
  if (options.groups.length > 0) {
    const seen = new Set<string>();
    noteGroups(seen, appGroups, labels);
    part.groupsSeen = [...seen];
  }
  const markGroupMatched = () => {
    part.groupMatched = true;
  };
  const services: Service[] = [];
  const portDrops: [number, string][] = [];
  const specs = portSpecs(app);
  for (const spec of specs) {
    const outcome = serviceFor(app, spec, labels, appGroups, options, markGroupMatched);
    if (outcome.kind === "dropped") portDrops.push([spec.index, outcome.reason]);
    if (outcome.kind !== "service") continue;
    if (outcome.warning) warnings.push(outcome.warning);
    services.push(outcome.service);
  }
  if (services.length === 0 && portDrops.length === 0) return part;
  // Fail closed: a label that restricts who may reach the app, or how, is not implemented yet,
  // so the app is not served at all rather than served without the restriction.
  const refused = labels.refused[0];
  if (refused !== undefined) {
    const more = labels.refused.length > 1 ? ` (and ${labels.refused.slice(1).join(", ")})` : "";
    drop(
      app.id,
      null,
      `${refused}${more} is not implemented by mhc; the app is left out rather than served without it`,
    );
    return part;
  }
  const tasks = readTasks(app, options);
  if (typeof tasks === "string") {
    drop(app.id, null, `wrong JSON type: ${tasks}`);
    return part;
  }
  const excluded = new Map<string, ExcludedTask>();
  for (const service of services) {
    const spec = specs[service.portIndex] as PortSpec;
    service.servers = serversFor(app, spec, tasks, checkHost, excluded);
  }
  for (const [index, reason] of portDrops) drop(app.id, index, reason);
  for (const [index, ofPort] of labels.ports) {
    if (index >= specs.length) {
      const names = [...ofPort.keys()].map((name) => `HAPROXY_${index}_${name}`).join(", ");
      warnings.push(`app ${app.id}: ${names} ignored: the app has no port index ${index}`);
    }
  }
  part.services = services;
  // Tasks left out whatever the port are reported once, for apps that are rendered at all.
  if (services.length > 0) {
    tasks.forEach((reason, i) => {
      if (reason === undefined) return;
      const taskId = app.tasks?.[i]?.id ?? "(no id)";
      excluded.set(`${app.id}\u0000${taskId}\u0000${reason}`, { appId: app.id, taskId, reason });
    });
  }
  if (excluded.size > 0) part.excluded = [...excluded.values()];
  return part;
}

/**
 * The model from the parts of every snapshot entry, sorted by id (stable: of two entries with one
 * id, the first is kept). Everything that spans apps happens here: duplicate ids, label counts,
 * the --group warning, bind conflicts, and the order of the lists.
 */
export function assemble(parts: readonly AppPart[], options: RenderOptions): Model {
  const warnings: string[] = [];
  const dropped: Dropped[] = [];
  const excluded: ExcludedTask[] = [];
  const ignored = new Map<string, number>();
  const unknown = new Map<string, number>();
  const count = (counts: Map<string, number>, names: readonly string[]) => {
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  const groupsSeen = new Set<string>();
  let groupMatched = false;
  const candidates: Service[] = [];
  // Shape problems are reported first, as the snapshot is read before anything else.
  for (const part of parts) if (part.shapeDropped) take(part);
  let previousId: string | undefined;
  for (const part of parts) {
    if (part.shapeDropped) continue;
    if (part.id === previousId && validAppId.test(part.id)) {
      warnings.push(`app ${part.id} appears twice in the snapshot; the second copy is ignored`);
      continue;
    }
    previousId = part.id;
    take(part);
  }
  function take(part: AppPart) {
    warnings.push(...part.warnings);
    dropped.push(...part.dropped);
    excluded.push(...part.excluded);
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
  const services = resolveBindConflicts(candidates, options, (service, reason) => {
    dropped.push({ appId: service.appId, portIndex: service.portIndex, reason });
    warnings.push(`app ${service.appId} port index ${service.portIndex} skipped: ${reason}`);
  });
  excluded.sort(
    (a, b) => compare(a.appId, b.appId) || compare(a.taskId, b.taskId) || compare(a.reason, b.reason),
  );
  dropped.sort(
    (a, b) =>
      compare(a.appId, b.appId) || (a.portIndex ?? -1) - (b.portIndex ?? -1) || compare(a.reason, b.reason),
  );
  return { services, excluded, dropped, warnings };
}

/** Orders parts as `assemble` expects: by id, entries of one id in snapshot order. */
export const compareParts = (a: AppPart, b: AppPart) => compare(a.id, b.id);

export function normalise(snapshot: Snapshot, options: RenderOptions): Model {
  const checkHost = hostChecks();
  const parts = snapshot.apps.map((app) => normaliseApp(app, options, checkHost));
  return assemble(parts.sort(compareParts), options);
}
