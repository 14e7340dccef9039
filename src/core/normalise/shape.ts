/**
 * Pass 0: the JSON types of every app field mhc reads (watch mode keeps only these fields of each
 * app and task in memory). Marathon's JSON is trusted only after this:
 * an app with a wrong type anywhere (`healthChecks: {}`, `host: 5`) is left out with the field named,
 * instead of crashing the render for every app. `null` is absent everywhere, as Marathon emits it.
 * Tasks are checked one by one as normalise reads them (`taskShapeProblem`), for speed.
 */

export type Schema =
  | "string"
  | "number"
  | "boolean"
  | "object"
  | { list: Schema }
  | { fields: Record<string, Schema> };

const portMapping: Schema = {
  fields: { containerPort: "number", hostPort: "number", servicePort: "number" },
};

export const appFieldsSchema: { fields: Record<string, Schema> } = {
  fields: {
    id: "string",
    instances: "number",
    labels: "object",
    ports: { list: "number" },
    portDefinitions: { list: { fields: { port: "number" } } },
    requirePorts: "boolean",
    networks: { list: { fields: { mode: "string" } } },
    ipAddress: { fields: { discovery: { fields: { ports: { list: { fields: { number: "number" } } } } } } },
    container: {
      fields: {
        portMappings: { list: portMapping },
        docker: { fields: { network: "string", portMappings: { list: portMapping } } },
      },
    },
    healthChecks: {
      list: {
        fields: {
          protocol: "string",
          path: "string",
          portIndex: "number",
          port: "number",
          intervalSeconds: "number",
          timeoutSeconds: "number",
          maxConsecutiveFailures: "number",
        },
      },
    },
  },
};

/**
 * Tasks are most of a snapshot (100,000 at 10,000 apps): they are checked one by one where the
 * servers pass reads them anyway (`taskShapeProblem`), with a hand-written fast check below.
 */
export const taskSchema: { fields: Record<string, Schema> } = {
  fields: {
    id: "string",
    host: "string",
    state: "string",
    startedAt: "string",
    ports: { list: "number" },
    ipAddresses: { list: { fields: { ipAddress: "string" } } },
    healthCheckResults: { list: { fields: { alive: "boolean" } } },
  },
};

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function expected(schema: Schema): string {
  if (typeof schema === "string") return schema === "object" ? "an object" : `a ${schema}`;
  return "list" in schema ? "a list" : "an object";
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The first field of `value` that does not match `schema`, as `where is X, not Y`; undefined when all match. */
export function mismatch(value: unknown, schema: Schema, where: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  let fits: boolean;
  if (typeof schema === "string") fits = schema === "object" ? isRecord(value) : typeof value === schema;
  else fits = "list" in schema ? Array.isArray(value) : isRecord(value);
  if (!fits) return `${where} is ${typeName(value)}, not ${expected(schema)}`;
  if (typeof schema === "string") return undefined;
  if ("list" in schema) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const problem = mismatch(items[i], schema.list, `${where}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const [field, fieldSchema] of Object.entries(schema.fields)) {
    const problem = mismatch(record[field], fieldSchema, where === "" ? field : `${where}.${field}`);
    if (problem) return problem;
  }
  return undefined;
}

/*
 * The fast path: the schemas above written out with static property names, which V8 reads an
 * order of magnitude faster than a walk with computed keys (10,000 apps and 100,000 tasks in a few
 * milliseconds). It only answers "fits or not"; `mismatch` names the field when not. A test checks
 * that both agree on every field of real apps with wrong values.
 */
type Rec = Record<string, unknown>;
const isText = (v: unknown) => v == null || typeof v === "string";
const isNumber = (v: unknown) => v == null || typeof v === "number";
const isFlag = (v: unknown) => v == null || typeof v === "boolean";

/** A list (or absent) whose items are absent or fit `item`. */
function eachFits(v: unknown, item: (x: unknown) => boolean): boolean {
  if (v == null) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (v[i] != null && !item(v[i])) return false;
  return true;
}

/** An object (or absent) whose fields fit `fields`. */
const objectFits = (v: unknown, fields: (x: Rec) => boolean) => v == null || (isRecord(v) && fields(v));

const numberItem = (v: unknown) => typeof v === "number";
const anyFields = () => true;
const portMappingItem = (m: unknown) =>
  isRecord(m) && isNumber(m.containerPort) && isNumber(m.hostPort) && isNumber(m.servicePort);
const portDefinitionItem = (d: unknown) => isRecord(d) && isNumber(d.port);
const networkItem = (n: unknown) => isRecord(n) && isText(n.mode);
const discoveryPortItem = (p: unknown) => isRecord(p) && isNumber(p.number);
const discoveryFields = (d: Rec) => eachFits(d.ports, discoveryPortItem);
const ipAddressFields = (a: Rec) => objectFits(a.discovery, discoveryFields);
const dockerFields = (d: Rec) => isText(d.network) && eachFits(d.portMappings, portMappingItem);
const containerFields = (c: Rec) =>
  eachFits(c.portMappings, portMappingItem) && objectFits(c.docker, dockerFields);
const healthCheckItem = (c: unknown) =>
  isRecord(c) &&
  isText(c.protocol) &&
  isText(c.path) &&
  isNumber(c.portIndex) &&
  isNumber(c.port) &&
  isNumber(c.intervalSeconds) &&
  isNumber(c.timeoutSeconds) &&
  isNumber(c.maxConsecutiveFailures);

/** `appFieldsSchema`, fast. */
export function appFieldsFit(app: Rec): boolean {
  return (
    isText(app.id) &&
    isNumber(app.instances) &&
    objectFits(app.labels, anyFields) &&
    eachFits(app.ports, numberItem) &&
    eachFits(app.portDefinitions, portDefinitionItem) &&
    isFlag(app.requirePorts) &&
    eachFits(app.networks, networkItem) &&
    objectFits(app.ipAddress, ipAddressFields) &&
    objectFits(app.container, containerFields) &&
    eachFits(app.healthChecks, healthCheckItem)
  );
}

/** `taskSchema`, fast: written out in full, since it runs for every task (100,000 at 10,000 apps). */
export function taskFits(task: Rec): boolean {
  if (!isText(task.id) || !isText(task.host) || !isText(task.state) || !isText(task.startedAt)) return false;
  const { ports, ipAddresses, healthCheckResults } = task;
  if (ports != null) {
    if (!Array.isArray(ports)) return false;
    for (let i = 0; i < ports.length; i++) if (ports[i] != null && typeof ports[i] !== "number") return false;
  }
  if (ipAddresses != null) {
    if (!Array.isArray(ipAddresses)) return false;
    for (let i = 0; i < ipAddresses.length; i++) {
      const a = ipAddresses[i];
      if (a != null && (!isRecord(a) || !isText(a.ipAddress))) return false;
    }
  }
  if (healthCheckResults != null) {
    if (!Array.isArray(healthCheckResults)) return false;
    for (let i = 0; i < healthCheckResults.length; i++) {
      const r = healthCheckResults[i];
      if (r != null && (!isRecord(r) || !isFlag(r.alive))) return false;
    }
  }
  return true;
}

/** Why an app entry cannot be read (a wrong JSON type, named by its field), or undefined. Tasks: see below. */
export function shapeProblem(app: unknown): string | undefined {
  if (!isRecord(app)) return `the entry is ${typeName(app)}, not an app object`;
  if (typeof app.id !== "string")
    return `id is ${app.id === undefined ? "missing" : typeName(app.id)}, not a string`;
  if (app.tasks != null && !Array.isArray(app.tasks)) return `tasks is ${typeName(app.tasks)}, not a list`;
  return appFieldsFit(app) ? undefined : mismatch(app, appFieldsSchema, "");
}

/** Why task number `index` of an app cannot be read, or undefined (null tasks are absent). */
export function taskShapeProblem(task: unknown, index: number): string | undefined {
  if (task == null || (isRecord(task) && taskFits(task))) return undefined;
  return mismatch(task, taskSchema, `tasks[${index}]`);
}
