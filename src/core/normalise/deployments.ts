import { appLabels, type LabelResult } from "../labels.ts";
import type { MarathonApp, MarathonTask } from "../snapshot.ts";
import { labelProblem } from "./services.ts";

/**
 * Pass 1a, blue/green (marathon-lb's zero-downtime deployments): the apps of one
 * `HAPROXY_DEPLOYMENT_GROUP` become one app named after the group, defined by the colour that
 * started first (its service ports, labels and checks, as marathon-lb keeps the older app), with the
 * tasks of every colour. The colour that started last is new; old tasks drain as marathon-lb drains
 * them: sorted by task id, the first N, where N = min(old tasks, healthy new tasks, healthy new
 * tasks + old instances − target instances).
 */

export interface Deployment {
  newApp: string;
  newColour?: string;
  oldApps: string[];
  /** Task ids of the new colour. */
  newTasks: ReadonlySet<string>;
  /** The old colours' tasks that drain. */
  draining: ReadonlySet<MarathonTask>;
}

export interface Merged {
  apps: MarathonApp[];
  deployments: Map<MarathonApp, Deployment>;
  /** Apps left out because a deployment label is invalid. */
  problems: { appId: string; reason: string }[];
  /** Deployment labels on an app without a deployment group: they do nothing. */
  warnings: string[];
}

interface Member {
  app: MarathonApp;
  group: string;
  startedAt: number;
  target?: number;
  colour?: string;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Shared by every label an app does not set: most apps set none of these. */
const absent: LabelResult<undefined> = { ok: true, value: undefined };

/** `HAPROXY_<name>` of each app label, built once rather than for every app. */
const keys = Object.fromEntries(Object.keys(appLabels).map((name) => [name, `HAPROXY_${name}`]));

function label<T>(app: MarathonApp, name: keyof typeof appLabels): LabelResult<T | undefined> {
  const key = keys[name] as string;
  const value = app.labels?.[key];
  if (value === undefined || value === null) return absent;
  const parsed = appLabels[name].parse(value) as LabelResult<T>;
  return parsed.ok ? parsed : { ok: false, reason: labelProblem(key, value, parsed.reason) };
}

/** A member of a deployment group, or why the app cannot be one. */
function member(app: MarathonApp, group: string): Member | string {
  const startedAt = label<number>(app, "DEPLOYMENT_STARTED_AT");
  const target = label<number>(app, "DEPLOYMENT_TARGET_INSTANCES");
  const colour = label<string>(app, "DEPLOYMENT_COLOUR");
  const altPort = label<number>(app, "DEPLOYMENT_ALT_PORT");
  const originalId = label<string>(app, "APP_ID");
  const newInstances = label<number>(app, "DEPLOYMENT_NEW_INSTANCES");
  for (const result of [startedAt, target, colour, altPort, originalId, newInstances])
    if (!result.ok) return result.reason;
  return {
    app,
    group,
    // marathon-lb: a colour without a start time is the oldest.
    startedAt: startedAt.ok && startedAt.value !== undefined ? startedAt.value : Number.NEGATIVE_INFINITY,
    target: target.ok ? target.value : undefined,
    colour: colour.ok ? colour.value : undefined,
  };
}

const alive = (task: MarathonTask | null | undefined) =>
  Array.isArray(task?.healthCheckResults) && task.healthCheckResults.some((r) => r?.alive === true);

const instancesOf = (app: MarathonApp) =>
  typeof app.instances === "number" ? app.instances : (app.tasks ?? []).length;

function merge(members: Member[]): { app: MarathonApp; deployment: Deployment } {
  members.sort((a, b) => a.startedAt - b.startedAt || compare(a.app.id, b.app.id));
  const first = members[0] as Member;
  const newest = members[members.length - 1] as Member;
  const olds = members.slice(0, -1);
  const newTasks = (newest.app.tasks ?? []).filter((t) => t != null);
  const oldTasks = olds
    .flatMap((m) => (m.app.tasks ?? []).filter((t) => t != null))
    .sort((a, b) => compare(String(a.id ?? ""), String(b.id ?? "")));
  const healthyNew = (newest.app.healthChecks ?? []).some((c) => c != null)
    ? newTasks.filter(alive).length
    : instancesOf(newest.app);
  const oldInstances = olds.reduce((n, m) => n + instancesOf(m.app), 0);
  const target = newest.target ?? 1;
  const drainCount = Math.min(oldTasks.length, healthyNew, Math.max(0, healthyNew + oldInstances - target));
  const app: MarathonApp = { ...first.app, id: first.group, tasks: [...oldTasks, ...newTasks] };
  return {
    app,
    deployment: {
      newApp: newest.app.id,
      ...(newest.colour ? { newColour: newest.colour } : {}),
      oldApps: olds.map((m) => m.app.id),
      newTasks: new Set(newTasks.map((t) => String(t.id ?? ""))),
      draining: new Set(olds.length > 0 ? oldTasks.slice(0, drainCount) : []),
    },
  };
}

const deploymentLabel =
  /^HAPROXY_(DEPLOYMENT_(STARTED_AT|TARGET_INSTANCES|NEW_INSTANCES|COLOUR|ALT_PORT)|APP_ID)$/;

export function mergeDeploymentGroups(apps: MarathonApp[]): Merged {
  const groups = new Map<string, Member[]>();
  const problems: Merged["problems"] = [];
  const warnings: string[] = [];
  const rest: MarathonApp[] = [];
  for (const app of apps) {
    const group = label<string>(app, "DEPLOYMENT_GROUP");
    if (!group.ok) {
      problems.push({ appId: app.id, reason: group.reason });
      continue;
    }
    if (group.value === undefined) {
      const stray: string[] = [];
      // Most label keys do not start with "HAPROXY_": they are not tested against the pattern.
      for (const key in app.labels ?? {})
        if (key.startsWith("HAPROXY_") && deploymentLabel.test(key)) stray.push(key);
      if (stray.length > 0)
        warnings.push(`app ${app.id}: ${stray.sort().join(", ")} ignored: no HAPROXY_DEPLOYMENT_GROUP`);
      rest.push(app);
      continue;
    }
    const joined = member(app, group.value);
    if (typeof joined === "string") problems.push({ appId: app.id, reason: joined });
    else {
      const members = groups.get(group.value);
      if (members) members.push(joined);
      else groups.set(group.value, [joined]);
    }
  }
  const deployments = new Map<MarathonApp, Deployment>();
  // Without deployment groups the apps stay as given (in id order, as prepare passes them).
  if (groups.size === 0) return { apps: rest, deployments, problems, warnings };
  const ids = new Set(rest.map((app) => app.id));
  for (const [group, members] of groups) {
    if (ids.has(group)) {
      for (const { app } of members) {
        problems.push({
          appId: app.id,
          reason: `HAPROXY_DEPLOYMENT_GROUP ${group} is also the id of another app`,
        });
      }
      continue;
    }
    const { app, deployment } = merge(members);
    deployments.set(app, deployment);
    rest.push(app);
  }
  rest.sort((a, b) => compare(a.id, b.id));
  return { apps: rest, deployments, problems, warnings };
}
