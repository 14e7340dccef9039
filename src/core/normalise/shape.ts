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

const appSchema: Schema = {
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
    tasks: {
      list: {
        fields: {
          id: "string",
          host: "string",
          state: "string",
          startedAt: "string",
          ports: { list: "number" },
          ipAddresses: { list: { fields: { ipAddress: "string" } } },
          healthCheckResults: { list: { fields: { alive: "boolean" } } },
        },
      },
    },
  },
};

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

/** Why an app entry cannot be read (a wrong JSON type, named by its field), or undefined. */
export function shapeProblem(app: unknown): string | undefined {
  if (!isRecord(app)) return `the entry is ${typeName(app)}, not an app object`;
  if (typeof app.id !== "string")
    return `id is ${app.id === undefined ? "missing" : typeName(app.id)}, not a string`;
  return mismatch(app, appSchema, "");
}
