import type { Model, RenderOptions } from "./model.ts";
import type { ConflictsMemo } from "./normalise/conflicts.ts";
import { networkMode, type PortSpec, portSpecs } from "./normalise/ports.ts";
import { type HostChecks, hostChecks } from "./normalise/servers.ts";
import { appFieldsSchema, shapeProblem, taskSchema } from "./normalise/shape.ts";
import { type AppPart, assemble, normaliseApp, type Prepared, prepare } from "./normalise.ts";
import { type RenderMemo, render, renderMemo } from "./render.ts";
import type { MarathonApp, MarathonTask, Snapshot } from "./snapshot.ts";

/**
 * Watch mode's model of Marathon, kept in memory and changed by events: the apps by id, each
 * app's normalised part, and each service's rendered text. Only apps an event touched are
 * normalised again and only their services rendered again; the rest of the config is reused, so
 * the output is byte for byte what a full normalise + render of the same apps gives.
 */

/** One event off Marathon's stream: its type and its JSON text. */
export interface MarathonEvent {
  type: string;
  data: string;
}

/** What the model needs after applying events: nothing more, some apps read again, or everything. */
export interface EventOutcome {
  /** Apps to fetch (`GET /v2/apps/<id>?embed=app.tasks`), each with why. */
  fetchApps: Map<string, string>;
  /** Why the whole snapshot must be fetched, when it must. */
  fetchAll?: string;
}

/** Task states after which Marathon no longer lists the task under its app. */
const terminalStates = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_ERROR",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
  "TASK_DROPPED",
]);
/** Task states Marathon lists as they are. TASK_LOST and TASK_UNKNOWN are not: Marathon maps them. */
const listedStates = new Set([
  "TASK_STAGING",
  "TASK_STARTING",
  "TASK_RUNNING",
  "TASK_KILLING",
  "TASK_UNREACHABLE",
]);
/** Instance conditions (instance_changed_event) and the task state each means; "" = no longer listed. */
const conditionStates: Record<string, string> = {
  Staging: "TASK_STAGING",
  Starting: "TASK_STARTING",
  Running: "TASK_RUNNING",
  Killing: "TASK_KILLING",
  Unreachable: "TASK_UNREACHABLE",
  Finished: "",
  Failed: "",
  Killed: "",
  Error: "",
  Gone: "",
  Dropped: "",
};

type Json = Record<string, unknown>;
/** An app to read again (`app`), or everything (no `app`), and why. */
type Need = { app?: string; why: string };
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Whether a task belongs to an instance: task ids are `<instance id>._app.<n>` (1.4+) or the instance id. */
const ofInstance = (task: MarathonTask, instanceId: string) =>
  task.id === instanceId || (task.id?.startsWith(`${instanceId}.`) ?? false);

export class IncrementalModel {
  private readonly apps = new Map<string, MarathonApp>();
  /** Ids in order, kept until an app comes or goes. */
  private sortedIds: string[] | undefined;
  /**
   * Each app's part, valid while the prepared app is the same object (an event replaces the
   * object of an app it changes; a merged blue/green app is a new object every time) and has the
   * same service ports (IP-per-task apps get theirs from a range shared by all apps).
   */
  private readonly parts = new Map<string, { app: MarathonApp; ports: number[]; part: AppPart }>();
  /** Each entry's JSON shape problem, for as long as the entry object lives. */
  private readonly shapes = new WeakMap<object, string | undefined>();
  private readonly checkHost: HostChecks = hostChecks();
  /** Each service's rendered texts, for as long as the service object lives. */
  private readonly serviceTexts: RenderMemo = renderMemo();
  /**
   * The last passes across apps, with each app's part in the same order, while they can be patched
   * (no IP-per-task app took a port from the range); dropped when an app comes or goes.
   */
  private last: { prepared: Prepared; parts: AppPart[]; at: Map<string, number> } | undefined;
  /** Apps replaced since the last passes across apps. */
  private readonly replaced = new Set<string>();
  /** The last conflicts pass, reused while no service's bind, name or incumbency changed. */
  private readonly conflicts: ConflictsMemo = {};

  private constructor(private readonly options: RenderOptions) {}

  /**
   * The model of a full snapshot, or undefined when one app cannot be keyed by its id (no string
   * id, or an id twice): such a snapshot is rendered in full every time.
   */
  static from(snapshot: Snapshot, options: RenderOptions): IncrementalModel | undefined {
    const model = new IncrementalModel(options);
    for (const app of snapshot.apps) {
      const id = (app as { id?: unknown } | null)?.id;
      if (typeof id !== "string" || model.apps.has(id)) return undefined;
      model.setApp(id, app);
    }
    return model;
  }

  get size(): number {
    return this.apps.size;
  }

  /** Puts an app as Marathon answered it, or removes it (undefined: Marathon no longer has it). */
  setApp(id: string, app: MarathonApp | undefined): void {
    this.put(id, app && withReadFields(app));
  }

  private put(id: string, app: MarathonApp | undefined): void {
    if (app === undefined) {
      if (!this.apps.delete(id)) return;
      this.parts.delete(id);
      this.sortedIds = undefined;
      this.last = undefined;
    } else {
      if (!this.apps.has(id)) {
        this.sortedIds = undefined;
        this.last = undefined;
      }
      this.apps.set(id, app);
      this.replaced.add(id);
    }
  }

  /**
   * Applies a batch of events in order. Events that only confirm a task's state
   * (instance_changed_event) are checked after the rest, as Marathon sends them alongside the
   * status update in no guaranteed order.
   */
  apply(events: readonly MarathonEvent[]): EventOutcome {
    const outcome: EventOutcome = { fetchApps: new Map() };
    const confirmations: Json[] = [];
    for (const event of events) {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        outcome.fetchAll ??= `a ${event.type} event that is not JSON`;
        continue;
      }
      if (!isObject(data)) {
        outcome.fetchAll ??= `a ${event.type} event that is not a JSON object`;
        continue;
      }
      if (event.type === "instance_changed_event") {
        confirmations.push(data);
        continue;
      }
      const need = this.applyOne(event.type, data, outcome);
      if (need === undefined) continue;
      if (need.app === undefined) outcome.fetchAll ??= need.why;
      else if (!outcome.fetchApps.has(need.app)) outcome.fetchApps.set(need.app, need.why);
    }
    for (const data of confirmations) this.confirm(data, outcome);
    return outcome;
  }

  /** Applies one event; returns what must be read again when it cannot be applied exactly. */
  private applyOne(type: string, data: Json, outcome: EventOutcome): Need | undefined {
    const fetchApp = (id: string, why: string): Need => ({ app: id, why });
    const fetchAll = (why: string): Need => ({ why });
    switch (type) {
      case "status_update_event": {
        const appId = text(data.appId);
        if (!appId) return fetchAll("a status_update_event without appId");
        const taskId = text(data.taskId);
        const state = text(data.taskStatus);
        const app = this.apps.get(appId);
        if (!app || !taskId || !state) return fetchApp(appId, `${type} for an app not known yet`);
        const tasks = app.tasks ?? [];
        const index = tasks.findIndex((t) => t?.id === taskId);
        if (terminalStates.has(state)) {
          if (index >= 0) this.replaceTasks(appId, app, tasks.toSpliced(index, 1));
          return undefined;
        }
        if (!listedStates.has(state)) return fetchApp(appId, `task state ${state}`);
        const update: MarathonTask = { state };
        if (typeof data.host === "string") update.host = data.host;
        if (Array.isArray(data.ports)) update.ports = data.ports as number[];
        // An early status may carry no addresses yet; it does not take away ones already known.
        if (Array.isArray(data.ipAddresses) && data.ipAddresses.length > 0)
          update.ipAddresses = data.ipAddresses as MarathonTask["ipAddresses"];
        if (index >= 0) {
          this.replaceTasks(appId, app, tasks.with(index, { ...tasks[index], ...update }));
          return undefined;
        }
        if (update.host === undefined || update.ports === undefined)
          return fetchApp(appId, "a new task without host or ports");
        this.replaceTasks(appId, app, [...tasks, { id: taskId, ...update }]);
        return undefined;
      }
      case "health_status_changed_event":
      case "instance_health_changed_event": {
        const appId = text(data.appId) ?? text(data.runSpecId);
        const instanceId = text(data.instanceId) ?? text(data.taskId);
        const alive = type === "health_status_changed_event" ? data.alive : data.healthy;
        if (!appId) return fetchAll(`a ${type} without an app id`);
        const app = this.apps.get(appId);
        // Several checks each report on their own; which one changed is not said, so read the app.
        if (!app || !instanceId || typeof alive !== "boolean" || (app.healthChecks?.length ?? 0) !== 1)
          return fetchApp(appId, `${type} that cannot be applied exactly`);
        const tasks = app.tasks ?? [];
        if (!tasks.some((t) => t && ofInstance(t, instanceId)))
          return fetchApp(appId, `${type} for a task not known yet`);
        const next = tasks.map((t) =>
          t && ofInstance(t, instanceId)
            ? { ...t, healthCheckResults: [{ ...(t.healthCheckResults?.[0] ?? {}), alive }] }
            : t,
        );
        this.replaceTasks(appId, app, next);
        return undefined;
      }
      case "unknown_instance_terminated_event": {
        const appId = text(data.runSpecId) ?? text(data.appId);
        const instanceId = text(data.instanceId);
        if (!appId || !instanceId) return fetchAll(`a ${type} without ids`);
        const app = this.apps.get(appId);
        const tasks = app?.tasks ?? [];
        if (app && tasks.some((t) => t && ofInstance(t, instanceId)))
          this.replaceTasks(
            appId,
            app,
            tasks.filter((t) => !(t && ofInstance(t, instanceId))),
          );
        return undefined;
      }
      case "app_terminated_event": {
        const appId = text(data.appId);
        if (!appId) return fetchAll(`a ${type} without appId`);
        this.setApp(appId, undefined);
        outcome.fetchApps.delete(appId);
        return undefined;
      }
      case "api_post_event": {
        const appId = isObject(data.appDefinition) ? text(data.appDefinition.id) : undefined;
        if (appId) return fetchApp(appId, "its definition changed");
        return fetchAll(`an api_post_event for ${text(data.uri) ?? "a group"}`);
      }
      default: {
        if (type.startsWith("deployment_")) {
          const apps = deploymentApps(data);
          if (apps.length === 0) return fetchAll(`a ${type} that names no app`);
          for (const id of apps) if (!outcome.fetchApps.has(id)) outcome.fetchApps.set(id, type);
          return undefined;
        }
        // group_change_success and anything else: a change whose reach mhc cannot tell.
        return fetchAll(`a ${type} event`);
      }
    }
  }

  /** instance_changed_event: fine when the instance's tasks already are as it says, else read the app. */
  private confirm(data: Json, outcome: EventOutcome): void {
    const appId = text(data.runSpecId) ?? text(data.appId);
    const instanceId = text(data.instanceId);
    if (!appId || !instanceId) {
      outcome.fetchAll ??= "an instance_changed_event without ids";
      return;
    }
    const expected = conditionStates[String(data.condition)];
    const app = this.apps.get(appId);
    const tasks = (app?.tasks ?? []).filter((t) => t && ofInstance(t, instanceId));
    const consistent =
      app !== undefined &&
      expected !== undefined &&
      (expected === "" ? tasks.length === 0 : tasks.length > 0 && tasks.every((t) => t?.state === expected));
    if (!consistent && !outcome.fetchApps.has(appId))
      outcome.fetchApps.set(appId, `instance ${String(data.condition)} not seen in a status update`);
  }

  private replaceTasks(id: string, app: MarathonApp, tasks: (MarathonTask | null)[]) {
    this.put(id, { ...app, tasks: tasks as MarathonTask[] });
  }

  /**
   * The model of the current apps, given who owns each bind in the published config. The passes
   * across apps run in full only when an app came, went, or changed in a way they depend on;
   * otherwise the last ones are patched with the changed apps. Only changed apps are normalised
   * again; conflicts are resolved over every service each time.
   */
  model(incumbents?: ReadonlyMap<string, string>): Model {
    const options = incumbents ? { ...this.options, incumbents } : this.options;
    const last = this.patched(options) ?? this.passesAcrossApps(options);
    this.replaced.clear();
    return assemble(last.prepared, last.parts, options, this.conflicts);
  }

  private passesAcrossApps(options: RenderOptions) {
    this.sortedIds ??= [...this.apps.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const entries = this.sortedIds.map((id) => this.apps.get(id) as MarathonApp);
    const prepared = prepare(entries, options, (entry) => this.shapeOf(entry));
    const parts = prepared.apps.map((app) => {
      const specs = prepared.specs.get(app) as PortSpec[];
      const kept = this.parts.get(app.id);
      if (kept && kept.app === app && samePorts(kept.ports, specs)) return kept.part;
      const part = normaliseApp(app, specs, prepared.deployments.get(app), options, this.checkHost);
      this.parts.set(app.id, { app, ports: specs.map((spec) => spec.servicePort), part });
      return part;
    });
    const at = new Map(prepared.apps.map((app, i) => [app.id, i]));
    // Ports from the range depend on every app and on the published binds: such passes are redone.
    this.last = prepared.apps.some(takesPortsFromRange) ? undefined : { prepared, parts, at };
    return { prepared, parts };
  }

  /**
   * The last passes with the replaced apps swapped in, when each one, before and after, is an app
   * those passes only carry through: readable, in no deployment group, with service ports of its own.
   */
  private patched(options: RenderOptions) {
    const last = this.last;
    if (!last) return undefined;
    const { prepared, parts, at } = last;
    const swaps: [number, MarathonApp, PortSpec[]][] = [];
    for (const id of this.replaced) {
      const index = at.get(id);
      const before = index === undefined ? undefined : prepared.apps[index];
      const after = this.apps.get(id);
      if (index === undefined || before?.id !== id || !after || this.shapeOf(after) !== undefined) return;
      if (inDeployment(before) || inDeployment(after) || takesPortsFromRange(after)) return;
      swaps.push([index, after, portSpecs(after)]);
    }
    for (const [index, app, specs] of swaps) {
      prepared.specs.delete(prepared.apps[index] as MarathonApp);
      prepared.apps[index] = app;
      prepared.specs.set(app, specs);
      parts[index] = normaliseApp(app, specs, undefined, options, this.checkHost);
      this.parts.set(app.id, { app, ports: specs.map((spec) => spec.servicePort), part: parts[index] });
    }
    return last;
  }

  private shapeOf(entry: unknown): string | undefined {
    if (typeof entry !== "object" || entry === null) return shapeProblem(entry);
    if (this.shapes.has(entry)) return this.shapes.get(entry);
    const problem = shapeProblem(entry);
    this.shapes.set(entry, problem);
    return problem;
  }

  /** The config of `model` (from this object's `model()`), reusing the text of every unchanged service. */
  render(model: Model): string {
    return render(model, this.options, this.serviceTexts);
  }

  /**
   * Each service's text by name, once `render(model)` has run, to tell where two models differ;
   * services of the apps in `leaveOut` are left out.
   */
  serviceTextsOf(model: Model, leaveOut: ReadonlySet<string> = new Set()): Map<string, string> {
    const texts = new Map<string, string>();
    for (const service of model.services)
      if (!leaveOut.has(service.appId))
        texts.set(service.name, this.serviceTexts.texts.get(service)?.sections ?? "");
    return texts;
  }
}

/** The fields of an app and of a task that mhc reads, which are the ones the shape pass checks. */
const appFields = [...Object.keys(appFieldsSchema.fields), "tasks"];
const taskFields = Object.keys(taskSchema.fields);

/** An object with only `fields` of `entry` (anything but an object is kept as it is, for the shape pass). */
function only<T>(entry: T, fields: readonly string[]): T {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return entry;
  const kept: Record<string, unknown> = {};
  for (const field of fields) if (field in entry) kept[field] = (entry as Record<string, unknown>)[field];
  return kept as T;
}

/**
 * The app with only the fields mhc reads, its tasks' too. Most of Marathon's app is not read
 * (command, environment, constraints, strategies, versions; a task's agent, volumes, versions), and
 * the heap a watcher keeps, which every garbage collection walks, is mostly apps and tasks.
 */
function withReadFields(app: MarathonApp): MarathonApp {
  const kept = only(app, appFields);
  if (Array.isArray(kept.tasks)) kept.tasks = kept.tasks.map((task) => only(task, taskFields));
  return kept;
}

/** Whether an app carries labels of marathon-lb's blue/green deployments (pass 1a reads them). */
const inDeployment = (app: MarathonApp) =>
  Object.keys(app.labels ?? {}).some(
    (key) => key.startsWith("HAPROXY_DEPLOYMENT_") || key === "HAPROXY_APP_ID",
  );

/** Whether an app is IP-per-task without service ports, so it is given ports from the range. */
function takesPortsFromRange(app: MarathonApp): boolean {
  const mode = networkMode(app);
  if (mode !== "container") return false;
  const specs = portSpecs(app, mode);
  return specs.length > 0 && specs.every((spec) => spec.servicePort === 0);
}

function samePorts(ports: number[], specs: PortSpec[]): boolean {
  if (ports.length !== specs.length) return false;
  for (let i = 0; i < ports.length; i++) if (ports[i] !== specs[i]?.servicePort) return false;
  return true;
}

/** The apps a deployment event's plan acts on (light or full plan format). */
function deploymentApps(data: Json): string[] {
  const plan = isObject(data.plan) ? data.plan : undefined;
  const steps = plan && Array.isArray(plan.steps) ? plan.steps : [];
  const apps = new Set<string>();
  for (const step of steps) {
    const actions = isObject(step) && Array.isArray(step.actions) ? step.actions : [];
    for (const action of actions) {
      const app = isObject(action) ? (text(action.app) ?? text(action.runSpec)) : undefined;
      if (app) apps.add(app);
    }
  }
  return [...apps];
}

/**
 * The services two configs disagree on, by name (a service in one only counts too), for the
 * divergence report.
 */
export function servicesDiffering(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set<string>();
  for (const [name, value] of a) if (b.get(name) !== value) names.add(name);
  for (const name of b.keys()) if (!a.has(name)) names.add(name);
  return [...names].sort();
}
