import { ExitCode, MhcError } from "../errors.ts";

/**
 * Raw Marathon shapes, loosely typed: we only trust what we check. `null` anywhere means absent
 * (Marathon emits explicit nulls).
 */
export interface MarathonTask {
  id?: string;
  appId?: string;
  host?: string | null;
  state?: string | null;
  startedAt?: string | null;
  ports?: (number | null)[] | null;
  servicePorts?: (number | null)[] | null;
  ipAddresses?: { ipAddress?: string | null; protocol?: string | null }[] | null;
  healthCheckResults?: { alive?: boolean | null }[] | null;
}

export interface MarathonPortMapping {
  containerPort?: number | null;
  hostPort?: number | null;
  servicePort?: number | null;
}

export interface MarathonHealthCheck {
  protocol?: string | null;
  path?: string | null;
  portIndex?: number | null;
  port?: number | null;
  intervalSeconds?: number | null;
  timeoutSeconds?: number | null;
  maxConsecutiveFailures?: number | null;
}

export interface MarathonApp {
  id: string;
  instances?: number | null;
  labels?: Record<string, unknown> | null;
  ports?: (number | null)[] | null;
  portDefinitions?: { port?: number | null }[] | null;
  requirePorts?: boolean | null;
  networks?: { mode?: string | null }[] | null;
  ipAddress?: { discovery?: { ports?: { number?: number | null }[] | null } | null } | null;
  container?: {
    portMappings?: MarathonPortMapping[] | null;
    docker?: { network?: string | null; portMappings?: MarathonPortMapping[] | null } | null;
  } | null;
  healthChecks?: MarathonHealthCheck[] | null;
  tasks?: MarathonTask[] | null;
}

export interface Snapshot {
  /** `apps` for /v2/apps (and /v2/groups) responses, `tasks` for the /v2/tasks shape. */
  shape: "apps" | "tasks";
  apps: MarathonApp[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a Marathon response body. `origin` names where it came from, for error messages. */
export function parseSnapshot(text: string, origin: string): Snapshot {
  return snapshotFromJson(parseJson(text, origin), origin);
}

/** JSON.parse, failing with the one-line error of a body (or part of one) that is not JSON. */
export function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const hint = text.trim() === "" ? "the body is empty" : (error as Error).message;
    throw new MhcError(
      `${origin}: not valid JSON (${hint}); is the response truncated?`,
      ExitCode.marathonData,
    );
  }
}

export function snapshotFromJson(data: unknown, origin: string): Snapshot {
  if (isObject(data)) {
    if (Array.isArray(data.tasks)) return { shape: "tasks", apps: appsFromTasks(data.tasks, origin) };
    if (isObject(data.task)) return { shape: "tasks", apps: appsFromTasks([data.task], origin) };
    if (isObject(data.app)) return { shape: "apps", apps: checkedApps([data.app], origin) };
    if (Array.isArray(data.apps) || Array.isArray(data.groups)) {
      return { shape: "apps", apps: checkedApps(flattenGroups(data), origin) };
    }
    // A single app definition, as GET /v2/apps/{id} returns it without the wrapper.
    if (
      typeof data.id === "string" &&
      data.id.startsWith("/") &&
      ("instances" in data || "cmd" in data || "container" in data)
    ) {
      return { shape: "apps", apps: checkedApps([data], origin) };
    }
  }
  throw new MhcError(
    `${origin}: not a Marathon response (expected the JSON of GET /v2/apps?embed=apps.tasks or GET /v2/tasks)`,
    ExitCode.marathonData,
  );
}

/**
 * A /v2/groups response nests apps in groups; collect them all. Iterative, so groups nested
 * 50,000 deep cannot overflow the stack.
 */
function flattenGroups(root: Record<string, unknown>): unknown[] {
  const apps: unknown[] = [];
  const pending: Record<string, unknown>[] = [root];
  for (let group = pending.pop(); group !== undefined; group = pending.pop()) {
    if (Array.isArray(group.apps)) for (const app of group.apps) apps.push(app);
    if (Array.isArray(group.groups)) {
      for (let i = group.groups.length - 1; i >= 0; i--) {
        const child = group.groups[i];
        if (isObject(child)) pending.push(child);
      }
    }
  }
  return apps;
}

/**
 * Entries are checked field by field in normalise, which leaves out an app it cannot read; only a
 * list in which no entry has a string id is refused here, as not Marathon's shape at all.
 */
function checkedApps(apps: unknown[], origin: string): MarathonApp[] {
  if (apps.length > 0 && !apps.some((app) => isObject(app) && typeof app.id === "string" && app.id !== "")) {
    throw new MhcError(
      `${origin}: no entry of "apps" has a string "id"; not Marathon's shape`,
      ExitCode.marathonData,
    );
  }
  return apps as MarathonApp[];
}

/** The /v2/tasks shape carries no app definitions: each task's service ports become plain TCP listeners. */
function appsFromTasks(tasks: unknown[], origin: string): MarathonApp[] {
  const hasAppId = (task: unknown): task is MarathonTask & { appId: string } =>
    isObject(task) && typeof task.appId === "string" && task.appId !== "";
  if (tasks.length > 0 && !tasks.some(hasAppId)) {
    throw new MhcError(
      `${origin}: no entry of "tasks" has a string "appId"; not Marathon's shape`,
      ExitCode.marathonData,
    );
  }
  const byApp = new Map<string, { servicePorts: number[]; tasks: MarathonTask[] }>();
  // An entry that names no app is passed on as an app without an id, which normalise leaves out with a warning.
  const unreadable: unknown[] = [];
  for (const task of tasks) {
    if (!hasAppId(task)) {
      unreadable.push(isObject(task) ? { id: task.appId } : task);
      continue;
    }
    const entry = byApp.get(task.appId) ?? { servicePorts: [], tasks: [] };
    const servicePorts = Array.isArray(task.servicePorts) ? task.servicePorts : [];
    if (servicePorts.length > entry.servicePorts.length) entry.servicePorts = servicePorts as number[];
    entry.tasks.push(task as MarathonTask);
    byApp.set(task.appId, entry);
  }
  const apps: unknown[] = [...byApp].map(([id, entry]) => ({
    id,
    portDefinitions: entry.servicePorts.map((port) => ({ port })),
    tasks: entry.tasks,
  }));
  return [...apps, ...unreadable] as MarathonApp[];
}
