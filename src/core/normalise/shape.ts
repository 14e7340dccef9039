/**
 * Pass 0: the JSON types of every app field mhc reads. Marathon's JSON is trusted only after this:
 * an app with a wrong type anywhere (`healthChecks: {}`, `host: 5`) is left out with the field named,
 * instead of crashing the render for every app. `null` is absent everywhere, as Marathon emits it.
 */

type Schema =
  | "string"
  | "number"
  | "boolean"
  | "object"
  | { list: Schema }
  | { fields: Record<string, Schema> };

const portMapping: Schema = {
  fields: { containerPort: "number", hostPort: "number", servicePort: "number" },
};

const appFieldsSchema: { fields: Record<string, Schema> } = {
  fields: {
    id: "string",
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

/** Tasks are most of a snapshot (100,000 at 10,000 apps), so they have a hand-written fast check below. */
const taskSchema: Schema = {
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

const appSchema: Schema = { fields: { ...appFieldsSchema.fields, tasks: { list: taskSchema } } };

function typeName(value: unknown): string {
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
function mismatch(value: unknown, schema: Schema, where: string): string | undefined {
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

type Fits = (value: unknown) => boolean;

/**
 * The same test as `mismatch`, compiled once and building no text: the fast path for the apps that
 * are fine. Leaves (`typeof` checks) are tested inline rather than through a call each, which
 * keeps 100,000 tasks to a few milliseconds.
 */
function compile(schema: Schema): Fits {
  if (typeof schema === "string") return (v) => v == null || leafFits(v, schema);
  if ("list" in schema) {
    const item = schema.list;
    const check = typeof item === "string" ? undefined : compile(item);
    return (v) => {
      if (v == null) return true;
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x != null && !(check ? check(x) : leafFits(x, item as Leaf))) return false;
      }
      return true;
    };
  }
  const names = Object.keys(schema.fields);
  const leaves = names.map((name) => schema.fields[name]).map((f) => (typeof f === "string" ? f : undefined));
  const checks = names.map((name, i) => (leaves[i] ? undefined : compile(schema.fields[name] as Schema)));
  return (v) => {
    if (v == null) return true;
    if (!isRecord(v)) return false;
    for (let i = 0; i < names.length; i++) {
      const x = v[names[i] as string];
      if (x == null) continue;
      const leaf = leaves[i];
      if (leaf ? !leafFits(x, leaf) : !(checks[i] as Fits)(x)) return false;
    }
    return true;
  };
}

type Leaf = "string" | "number" | "boolean" | "object";
const leafFits = (v: unknown, leaf: Leaf) => (leaf === "object" ? isRecord(v) : typeof v === leaf);

const appFieldsFit = compile(appFieldsSchema);

const isText = (v: unknown) => v == null || typeof v === "string";

function listFits(v: unknown, item: (x: Record<string, unknown>) => boolean, leaf?: string): boolean {
  if (v == null) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x == null) continue;
    if (leaf ? typeof x !== leaf : !isRecord(x) || !item(x)) return false;
  }
  return true;
}

const ipAddressFits = (a: Record<string, unknown>) => isText(a.ipAddress);
const resultFits = (r: Record<string, unknown>) => r.alive == null || typeof r.alive === "boolean";
const noFields = () => true;

/** `taskSchema` written out with static property names (fast in V8); the walker test keeps them in step. */
function taskFits(task: Record<string, unknown>): boolean {
  return (
    isText(task.id) &&
    isText(task.host) &&
    isText(task.state) &&
    isText(task.startedAt) &&
    listFits(task.ports, noFields, "number") &&
    listFits(task.ipAddresses, ipAddressFits) &&
    listFits(task.healthCheckResults, resultFits)
  );
}

const appFits = (app: Record<string, unknown>) => appFieldsFit(app) && listFits(app.tasks, taskFits);

/** Why an app entry cannot be read (a wrong JSON type, named by its field), or undefined. */
export function shapeProblem(app: unknown): string | undefined {
  if (!isRecord(app)) return `the entry is ${typeName(app)}, not an app object`;
  if (typeof app.id !== "string")
    return `id is ${app.id === undefined ? "missing" : typeName(app.id)}, not a string`;
  return appFits(app) ? undefined : mismatch(app, appSchema, "");
}
