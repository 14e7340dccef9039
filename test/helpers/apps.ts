/** Builders for Marathon JSON in the real /v2/apps?embed=apps.tasks shape, with only what a test needs. */

export interface TaskSpec {
  id?: string;
  host?: string;
  ports?: number[];
  state?: string;
  alive?: boolean[];
  ipAddresses?: string[];
}

let taskCounter = 0;

export function task(spec: TaskSpec = {}): Record<string, unknown> {
  taskCounter++;
  return {
    id: spec.id ?? `task-${taskCounter}`,
    host: spec.host ?? "127.0.0.1",
    ports: spec.ports ?? [31000 + taskCounter],
    state: spec.state ?? "TASK_RUNNING",
    stagedAt: "2026-01-01T00:00:00.000Z",
    startedAt: "2026-01-01T00:00:01.000Z",
    ...(spec.ipAddresses
      ? { ipAddresses: spec.ipAddresses.map((ipAddress) => ({ ipAddress, protocol: "IPv4" })) }
      : {}),
    ...(spec.alive
      ? { healthCheckResults: spec.alive.map((alive) => ({ alive, consecutiveFailures: alive ? 0 : 3 })) }
      : {}),
  };
}

export function hostApp(
  id: string,
  servicePorts: number[],
  tasks: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    instances: tasks.length,
    networks: [{ mode: "host" }],
    portDefinitions: servicePorts.map((port) => ({ port, protocol: "tcp" })),
    requirePorts: false,
    labels: {},
    healthChecks: [],
    tasks,
    ...extra,
  };
}

/** An HTTP health check on port index 0 as Marathon returns it: GET /health every 10 s, 5 s timeout, 3 failures. */
export const httpHealthCheck = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  protocol: "HTTP",
  path: "/health",
  portIndex: 0,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  maxConsecutiveFailures: 3,
  ...over,
});

/** marathon-lb's fixture health check: HTTP on `/`, every 2 s, 10 s timeout, 10 failures, 10 s grace. */
export const marathonLbHealthCheck = httpHealthCheck({
  path: "/",
  gracePeriodSeconds: 10,
  intervalSeconds: 2,
  timeoutSeconds: 10,
  maxConsecutiveFailures: 10,
});

export const snapshotOf = (...apps: Record<string, unknown>[]) => ({ apps });

/** /web on service port 10000 with one task per host (10.0.x.y): each host added or removed is visible. */
export const webWithHosts = (hosts: number) =>
  snapshotOf(
    hostApp(
      "/web",
      [10000],
      Array.from({ length: hosts }, (_, i) =>
        task({ id: `web.${i}`, host: `10.0.${i >> 8}.${i & 255}`, ports: [31000] }),
      ),
    ),
  );
