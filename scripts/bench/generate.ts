/**
 * Deterministic synthetic Marathon snapshots in the real `GET /v2/apps?embed=apps.tasks` shape, for
 * benchmarks at cluster scale. Everything comes from a seeded PRNG (no clock, no Math.random), so the
 * same options give byte-identical JSON.
 *
 * The mix: host, container/bridge and IP-per-task (container) networking; HTTP, MESOS_HTTP and TCP
 * health checks or none; vhosts and HAProxy groups on some apps; two service ports on some apps; and
 * a few staging, unreachable and failing-health-check tasks that mhc leaves out.
 */

export interface GeneratorOptions {
  apps: number;
  tasksPerApp: number;
  seed: number;
}

export interface SyntheticTask {
  id: string;
  appId: string;
  host: string;
  state: string;
  ports: number[];
  servicePorts: number[];
  ipAddresses: { ipAddress: string; protocol: string }[];
  healthCheckResults?: Record<string, unknown>[];
  [field: string]: unknown;
}

export interface SyntheticApp {
  id: string;
  tasks: SyntheticTask[];
  healthChecks: Record<string, unknown>[];
  [field: string]: unknown;
}

export interface SyntheticSnapshot {
  apps: SyntheticApp[];
}

/** mulberry32: small, fast, and good enough to shuffle test data. Returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Random = () => number;

const pick = <T>(random: Random, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)] as T;
const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const hex = (random: Random, length: number) => {
  let text = "";
  for (let i = 0; i < length; i++) text += "0123456789abcdef"[Math.floor(random() * 16)];
  return text;
};
const uuid = (random: Random) =>
  `${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`;

/** An ISO timestamp in October 2026, built from the PRNG alone. */
const timestamp = (random: Random) =>
  `2026-10-${pad(between(random, 1, 31))}T${pad(between(random, 0, 23))}:${pad(between(random, 0, 59))}:${pad(between(random, 0, 59))}.${pad(between(random, 0, 999), 3)}Z`;

/** Agent pool: one host per 20 apps, at least 10; named by IP like most Mesos clusters report them. */
function agentPool(random: Random, apps: number): { ip: string; slaveId: string }[] {
  const count = Math.max(10, Math.ceil(apps / 20));
  const framework = uuid(random);
  return Array.from({ length: count }, (_, i) => ({
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`,
    slaveId: `${framework}-S${i}`,
  }));
}

type Networking = "host" | "bridge" | "container";
type CheckKind = "HTTP" | "MESOS_HTTP" | "TCP" | "none";

const teams = ["payments", "search", "checkout", "identity", "media", "ads", "data", "platform"];
const images = ["nginx:1.27", "python:3.12", "eclipse-temurin:21", "node:22", "golang:1.23"];

function healthChecks(kind: CheckKind, ports: number): Record<string, unknown>[] {
  if (kind === "none") return [];
  const base = {
    gracePeriodSeconds: 300,
    intervalSeconds: 10,
    maxConsecutiveFailures: 3,
    portIndex: 0,
    timeoutSeconds: 5,
    delaySeconds: 15,
  };
  const first =
    kind === "TCP"
      ? { ...base, protocol: "TCP" }
      : { ...base, protocol: kind, path: "/health", ignoreHttp1xx: false };
  // A second port gets its own TCP check on half the two-port apps.
  return ports > 1 ? [first, { ...base, portIndex: 1, protocol: "TCP" }] : [first];
}

function taskState(random: Random): string {
  const roll = random();
  if (roll < 0.02) return "TASK_STAGING";
  if (roll < 0.03) return "TASK_UNREACHABLE";
  return "TASK_RUNNING";
}

/** Builds the snapshot object; `JSON.stringify` it (no indentation, as Marathon answers). */
export function generateSnapshot({ apps, tasksPerApp, seed }: GeneratorOptions): SyntheticSnapshot {
  const random = prng(seed);
  const agents = agentPool(random, apps);
  let servicePort = 10_000;
  const result: SyntheticApp[] = [];
  for (let a = 0; a < apps; a++) {
    const team = pick(random, teams);
    const name = `svc-${pad(a, 5)}`;
    const id = `/${team}/${name}`;
    const roll = random();
    const networking: Networking = roll < 0.5 ? "host" : roll < 0.85 ? "bridge" : "container";
    const portCount = random() < 0.2 ? 2 : 1;
    const checkRoll = random();
    const check: CheckKind =
      checkRoll < 0.25 ? "HTTP" : checkRoll < 0.4 ? "MESOS_HTTP" : checkRoll < 0.7 ? "TCP" : "none";
    const servicePorts = Array.from({ length: portCount }, () => servicePort++);
    const containerPorts = servicePorts.map((_, i) => 8080 + i);
    const version = timestamp(random);

    const labels: Record<string, string> = { owner: team, tier: pick(random, ["frontend", "backend"]) };
    if (random() < 0.6) labels.HAPROXY_GROUP = "external";
    if (random() < 0.3) labels.HAPROXY_0_VHOST = `${name}.${team}.example.com`;
    if (check === "none" && random() < 0.1) labels.HAPROXY_0_MODE = "http";

    const container: Record<string, unknown> = {
      type: "DOCKER",
      docker: { image: pick(random, images), forcePullImage: false, privileged: false, parameters: [] },
      volumes: [],
    };
    if (networking !== "host") {
      container.portMappings = servicePorts.map((port, i) => ({
        containerPort: containerPorts[i],
        ...(networking === "bridge" ? { hostPort: 0 } : {}),
        labels: {},
        name: `port${i}`,
        protocol: "tcp",
        servicePort: port,
      }));
    }

    const tasks: SyntheticTask[] = [];
    for (let t = 0; t < tasksPerApp; t++) {
      const agent = pick(random, agents);
      const state = taskState(random);
      const startedAt = timestamp(random);
      const running = state === "TASK_RUNNING";
      const ip =
        networking === "container"
          ? `9.0.${between(random, 0, 255)}.${between(random, 1, 254)}`
          : networking === "bridge"
            ? `172.17.${between(random, 0, 255)}.${between(random, 2, 254)}`
            : agent.ip;
      const hostPorts =
        networking === "container" ? [] : servicePorts.map(() => between(random, 31_000, 32_999));
      const task: SyntheticTask = {
        ipAddresses: [{ ipAddress: ip, protocol: "IPv4" }],
        stagedAt: startedAt,
        state,
        ports: hostPorts,
        ...(running ? { startedAt } : {}),
        version,
        id: `${team}_${name}.instance-${uuid(random)}._app.1`,
        appId: id,
        slaveId: agent.slaveId,
        host: agent.ip,
        servicePorts,
        localVolumes: [],
      };
      if (check !== "none" && running) {
        // 3% of checked tasks fail their health checks (mhc leaves them out).
        const alive = random() >= 0.03;
        task.healthCheckResults = [
          {
            alive,
            consecutiveFailures: alive ? 0 : 3,
            firstSuccess: startedAt,
            lastFailure: alive ? null : version,
            lastSuccess: alive ? version : startedAt,
            lastFailureCause: alive ? null : "ConnectionRefused",
            instanceId: task.id,
          },
        ];
      }
      tasks.push(task);
    }

    const running = tasks.filter((t) => t.state === "TASK_RUNNING").length;
    const unhealthy = tasks.filter((t) => t.healthCheckResults?.some((r) => r.alive === false)).length;
    result.push({
      id,
      backoffFactor: 1.15,
      backoffSeconds: 1,
      cmd: networking === "host" ? `./run --port $PORT0 --name ${name}` : null,
      constraints: [["hostname", "UNIQUE"]],
      container,
      cpus: pick(random, [0.1, 0.25, 0.5, 1, 2]),
      disk: 0,
      env: { SERVICE_NAME: name, TEAM: team },
      executor: "",
      gpus: 0,
      healthChecks: healthChecks(check, portCount),
      instances: tasksPerApp,
      killSelection: "YOUNGEST_FIRST",
      labels,
      maxLaunchDelaySeconds: 3600,
      mem: pick(random, [128, 256, 512, 1024, 2048]),
      networks:
        networking === "host"
          ? [{ mode: "host" }]
          : [
              {
                mode: `container${networking === "bridge" ? "/bridge" : ""}`,
                ...(networking === "container" ? { name: "dcos" } : {}),
              },
            ],
      ...(networking === "host"
        ? {
            portDefinitions: servicePorts.map((port, i) => ({
              name: `port${i}`,
              port,
              protocol: "tcp",
              labels: {},
            })),
          }
        : {}),
      requirePorts: false,
      unreachableStrategy: { expungeAfterSeconds: 600, inactiveAfterSeconds: 300 },
      upgradeStrategy: { maximumOverCapacity: 1, minimumHealthCapacity: 1 },
      version,
      versionInfo: { lastConfigChangeAt: version, lastScalingAt: version },
      tasksStaged: tasks.length - running,
      tasksRunning: running,
      tasksHealthy: check === "none" ? 0 : running - unhealthy,
      tasksUnhealthy: unhealthy,
      deployments: [],
      tasks,
    });
  }
  return { apps: result };
}

/** A task mhc turns into a server: running, with no failing health check result. */
export function isServingTask(task: SyntheticTask): boolean {
  return task.state === "TASK_RUNNING" && !task.healthCheckResults?.some((r) => r.alive === false);
}

export interface MoveOptions {
  /** Move every n-th serving task (2: half of all servers). */
  every: number;
  /** Stop after this many moves. */
  limit?: number;
  seed: number;
}

/**
 * A copy of `snapshot` in which some serving tasks moved to another agent and host port (or, for
 * IP-per-task apps, another IP): each moved task is one server removed and one added.
 */
export function moveTasks(
  snapshot: SyntheticSnapshot,
  { every, limit = Infinity, seed }: MoveOptions,
): SyntheticSnapshot {
  const random = prng(seed);
  const copy = structuredClone(snapshot);
  let serving = 0;
  let moved = 0;
  for (const app of copy.apps) {
    for (const task of app.tasks) {
      if (moved >= limit) return copy;
      if (!isServingTask(task)) continue;
      serving++;
      if (serving % every !== 0) continue;
      const onHostPorts = task.ports.length > 0;
      if (onHostPorts) {
        // 10.255.x.y is outside every generated agent pool, so the new address is always new.
        task.host = `10.255.${between(random, 0, 255)}.${between(random, 1, 254)}`;
        task.ports = task.ports.map(() => between(random, 33_000, 34_999));
      } else {
        task.ipAddresses = [
          { ipAddress: `9.1.${between(random, 0, 255)}.${between(random, 1, 254)}`, protocol: "IPv4" },
        ];
      }
      moved++;
    }
  }
  return copy;
}
