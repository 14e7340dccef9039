import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions } from "../../../src/core/model.ts";
import {
  appFieldsFit,
  appFieldsSchema,
  mismatch,
  shapeProblem,
  taskFits,
  taskSchema,
  taskShapeProblem,
} from "../../../src/core/normalise/shape.ts";
import { normalise } from "../../../src/core/normalise.ts";
import { render } from "../../../src/core/render.ts";
import { snapshotFromJson } from "../../../src/core/snapshot.ts";
import { httpHealthCheck } from "../../helpers/apps.ts";
import { haproxyAvailable } from "../../helpers/haproxy.ts";

/** A real-shaped app using every field mhc reads (both port shapes, health checks, task details). */
const richApp = (id: string, port: number, network = "host") => ({
  id,
  instances: 2,
  labels: { HAPROXY_GROUP: "external", HAPROXY_0_VHOST: "rich.example.com", HAPROXY_0_BALANCE: "leastconn" },
  ports: [port],
  portDefinitions: [{ port, protocol: "tcp" }],
  requirePorts: false,
  networks: [{ mode: network }],
  ipAddress: { discovery: { ports: [{ number: 8080 }] } },
  container: {
    portMappings: [{ containerPort: 8080, hostPort: 0, servicePort: port }],
    docker: { network: "HOST", portMappings: [{ containerPort: 8080, hostPort: 0, servicePort: port }] },
  },
  healthChecks: [httpHealthCheck()],
  tasks: [
    {
      id: `${id}.1`,
      host: "10.0.0.1",
      state: "TASK_RUNNING",
      startedAt: "2026-01-01T00:00:00.000Z",
      ports: [31000],
      ipAddresses: [{ ipAddress: "9.0.0.1", protocol: "IPv4" }],
      healthCheckResults: [{ alive: true }],
    },
  ],
});

/** Every path into the app (objects and lists, leaves included), as key lists. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...paths(child, [...prefix, key])]);
}

function withValue(app: Record<string, unknown>, path: (string | number)[], value: unknown) {
  const copy = structuredClone(app);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1) as string | number] = value;
  return copy;
}

const wrongValues: unknown[] = [{}, [], 5, -1.5, "x", true, [{}], [5], ["x"]];
/** Marathon's own example app (fixtures/app.json) with a real task of its docs, running. */
const marathonExample = (id: string, port: number) => {
  const app = JSON.parse(readFileSync("fixtures/app.json", "utf8"));
  const [task] = JSON.parse(readFileSync("fixtures/app_tasks.json", "utf8")).tasks;
  app.container.docker.portMappings[0].servicePort = port;
  // An IP, not the docs' host name: haproxy -c would try to resolve it once per app.
  return { ...app, id, tasks: [{ ...task, host: "10.0.0.7", state: "TASK_RUNNING", ports: [31000, 31001] }] };
};

/** Host networking reads ports and host ports; container networking reads mappings and task IPs. */
const bases: [string, (id: string, port: number) => Record<string, unknown>][] = [
  ...["host", "container", "container/bridge"].map(
    (network): [string, (id: string, port: number) => Record<string, unknown>] => [
      network,
      (id, port) => richApp(id, port, network),
    ],
  ),
  ["fixtures/app.json", marathonExample],
];
const cases = bases.flatMap(([base, make]) =>
  paths(make("/rich", 10000)).flatMap((path) => wrongValues.map((value) => ({ base, make, path, value }))),
);
const control = richApp("/control", 11000);

describe("wrong JSON types anywhere in an app (one bad app never breaks the rest)", () => {
  it(`walks every field of real apps with ${wrongValues.length} wrong values each (${cases.length} cases): render never crashes, only that app is dropped`, () => {
    const crashes: string[] = [];
    for (const { base, make, path, value } of cases) {
      try {
        const json = { apps: [withValue(make("/rich", 10000), path, value), control] };
        const model = normalise(snapshotFromJson(json, "t"), defaultRenderOptions);
        render(model, defaultRenderOptions);
        const controlServices = model.services.filter((s) => s.appId === "/control");
        expect(controlServices.map((s) => s.servers.map((x) => x.name))).toEqual([["10.0.0.1_31000"]]);
        expect(model.dropped.filter((d) => d.appId === "/control")).toEqual([]);
      } catch (error) {
        crashes.push(
          `${base}: ${path.join(".")} = ${JSON.stringify(value)}: ${(error as Error).message.split("\n")[0]}`,
        );
      }
    }
    expect(crashes).toEqual([]);
  });

  it("the fast checks and the schema agree on every one of those cases", () => {
    const disagreements: string[] = [];
    for (const { base, make, path, value } of cases) {
      const app = withValue(make("/rich", 10000), path, value) as Record<string, unknown>;
      const where = `${base}: ${path.join(".")} = ${JSON.stringify(value)}`;
      if (appFieldsFit(app) !== (mismatch(app, appFieldsSchema, "") === undefined))
        disagreements.push(`app ${where}`);
      const tasks = Array.isArray(app.tasks) ? app.tasks : [];
      for (const task of tasks) {
        if (task == null || typeof task !== "object" || Array.isArray(task)) continue;
        if (taskFits(task) !== (mismatch(task, taskSchema, "") === undefined))
          disagreements.push(`task ${where}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it.skipIf(!haproxyAvailable())("all those apps rendered together pass haproxy -c", () => {
    const apps = cases.map(({ make, path, value }, i) =>
      withValue(make(`/case-${i}`, 20000 + i), path, value),
    );
    const model = normalise(snapshotFromJson({ apps: [...apps, control] }, "t"), defaultRenderOptions);
    const file = join(mkdtempSync(join(tmpdir(), "mhc-shape-")), "haproxy.cfg");
    writeFileSync(file, render(model, defaultRenderOptions));
    const output = execFileSync("haproxy", ["-c", "-f", file], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(output).toContain("Configuration file is valid");
  });

  it.each([
    [{ id: "/a", healthChecks: {} }, "healthChecks is an object, not a list"],
    [{ id: "/a", tasks: {} }, "tasks is an object, not a list"],
    [{ id: "/a", healthChecks: [{ protocol: 5 }] }, "healthChecks[0].protocol is a number, not a string"],
    [{ id: "/a", labels: [] }, "labels is a list, not an object"],
    [
      { id: "/a", container: { docker: { network: 1 } } },
      "container.docker.network is a number, not a string",
    ],
    [{ id: "/a", portDefinitions: [{ port: "80" }] }, "portDefinitions[0].port is a string, not a number"],
    [{ id: 5 }, "id is a number, not a string"],
    ["app", "the entry is a string, not an app object"],
    [null, "the entry is null, not an app object"],
    [{ id: "/a", tasks: [null], healthChecks: null, labels: null }, undefined],
  ])("%j: %s", (app, problem) => {
    expect(shapeProblem(app)).toBe(problem);
  });

  it.each([
    [{ host: 5 }, "tasks[3].host is a number, not a string"],
    [{ ports: {} }, "tasks[3].ports is an object, not a list"],
    [{ ports: ["31000"] }, "tasks[3].ports[0] is a string, not a number"],
    [
      { healthCheckResults: [{ alive: "yes" }] },
      "tasks[3].healthCheckResults[0].alive is a string, not a boolean",
    ],
    [{ ipAddresses: [5] }, "tasks[3].ipAddresses[0] is a number, not an object"],
    ["task", "tasks[3] is a string, not an object"],
    [null, undefined],
    [{ host: "a", ports: [null, 1], ipAddresses: null }, undefined],
  ])("task %j: %s", (task, problem) => {
    expect(taskShapeProblem(task, 3)).toBe(problem);
  });

  it("the dropped app's reason names the field", () => {
    const model = normalise(
      snapshotFromJson({ apps: [{ id: "/bad", healthChecks: {} }, control] }, "t"),
      defaultRenderOptions,
    );
    expect(model.dropped).toEqual([
      { appId: "/bad", portIndex: null, reason: "wrong JSON type: healthChecks is an object, not a list" },
    ]);
    expect(model.services.map((s) => s.appId)).toEqual(["/control"]);
  });

  it("groups nested 50,000 deep do not overflow the stack", () => {
    let json = '{"id":"/","apps":[],"groups":[]}';
    for (let i = 0; i < 50_000; i++) json = `{"id":"/g","apps":[],"groups":[${json}]}`;
    const deep = JSON.parse(json);
    let innermost = deep;
    while (innermost.groups.length > 0) innermost = innermost.groups[0];
    innermost.apps.push(control);
    const model = normalise(snapshotFromJson(deep, "t"), defaultRenderOptions);
    expect(model.services.map((s) => s.appId)).toEqual(["/control"]);
  });
});

describe("what is not Marathon's at all", () => {
  it("a response where no app has a string id is not Marathon's (exit 5)", () => {
    expect(() => snapshotFromJson({ apps: [{ id: 5 }, { name: "x" }] }, "t")).toThrow(
      expect.objectContaining({ exitCode: 5, message: expect.stringContaining("not Marathon's shape") }),
    );
  });

  it("one entry without a string id among apps is dropped; the rest render", () => {
    const model = normalise(snapshotFromJson({ apps: [{ id: 5 }, control] }, "t"), defaultRenderOptions);
    expect(model.dropped).toEqual([
      { appId: "(no id)", portIndex: null, reason: "wrong JSON type: id is a number, not a string" },
    ]);
    expect(model.services.map((s) => s.appId)).toEqual(["/control"]);
  });
});

describe("deep values where mhc quotes them", () => {
  it("a label value nested 50,000 deep is refused without overflowing the stack", () => {
    let deep: unknown = [];
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const app = { ...richApp("/deep", 10000), labels: { HAPROXY_0_VHOST: deep, HAPROXY_GROUP: deep } };
    const model = normalise(snapshotFromJson({ apps: [app, control] }, "t"), defaultRenderOptions);
    expect(model.dropped).toEqual([
      { appId: "/deep", portIndex: null, reason: "HAPROXY_GROUP (a list) is not a string" },
    ]);
    expect(JSON.stringify(model)).toContain("/control");
  });
});
