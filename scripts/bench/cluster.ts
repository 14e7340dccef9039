/**
 * A Marathon cluster that changes, for the incremental watch tests and benchmark: it holds a
 * snapshot (as generate.ts builds it), applies changes to it the way Marathon would (a task
 * starts, is killed, becomes unreachable, changes health; an app is edited, added, removed) and
 * returns, for each change, the events Marathon sends on its stream. Seeded, so reproducible.
 */
import { prng, type SyntheticApp, type SyntheticSnapshot, type SyntheticTask } from "./generate.ts";

export interface ClusterEvent {
  type: string;
  data: Record<string, unknown>;
}

const instanceOf = (taskId: string) => taskId.replace(/\._app\.\d+$/, "");

export class SimulatedCluster {
  private readonly random: () => number;
  private counter = 0;

  constructor(
    readonly snapshot: SyntheticSnapshot,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  app(index: number): SyntheticApp {
    return this.snapshot.apps[index % this.snapshot.apps.length] as SyntheticApp;
  }

  /** A new task of app `index`, running: a status update, then the instance change. */
  startTask(index: number): ClusterEvent[] {
    const app = this.app(index);
    const template = app.tasks[0];
    const hostBased = template ? template.ports.length > 0 : true;
    const id = `${app.id.slice(1).replace(/\//g, "_")}.instance-sim${++this.counter}._app.1`;
    const host = `10.200.${this.counter >> 8}.${(this.counter & 255) + 1}`;
    const ports = hostBased ? (template?.servicePorts ?? [0]).map(() => 33_000 + (this.counter % 2_000)) : [];
    const ip = hostBased ? host : `9.200.${this.counter >> 8}.${(this.counter & 255) + 1}`;
    const task: SyntheticTask = {
      id,
      appId: app.id,
      host,
      state: "TASK_RUNNING",
      ports,
      servicePorts: template?.servicePorts ?? [],
      ipAddresses: [{ ipAddress: ip, protocol: "IPv4" }],
      startedAt: "2026-11-01T00:00:00.000Z",
    };
    app.tasks.push(task);
    return [
      {
        type: "status_update_event",
        data: {
          slaveId: "sim",
          taskId: id,
          taskStatus: "TASK_RUNNING",
          message: "",
          appId: app.id,
          host,
          ports,
          ipAddresses: task.ipAddresses,
          version: "2026-11-01T00:00:00.000Z",
        },
      },
      this.instanceChanged(app.id, id, "Running", host),
    ];
  }

  /** Kills a task of app `index` (none left: nothing happens). */
  killTask(index: number): ClusterEvent[] {
    const app = this.app(index);
    const task = app.tasks.splice(Math.floor(this.random() * app.tasks.length), 1)[0];
    if (!task) return [];
    return [
      {
        type: "status_update_event",
        data: {
          taskId: task.id,
          taskStatus: "TASK_KILLED",
          appId: app.id,
          host: task.host,
          ports: task.ports,
          ipAddresses: task.ipAddresses,
        },
      },
      this.instanceChanged(app.id, task.id, "Killed", task.host),
    ];
  }

  /** A task of app `index` becomes unreachable, or running again. */
  toggleReachable(index: number): ClusterEvent[] {
    const app = this.app(index);
    const task = app.tasks[Math.floor(this.random() * app.tasks.length)];
    if (!task) return [];
    task.state = task.state === "TASK_UNREACHABLE" ? "TASK_RUNNING" : "TASK_UNREACHABLE";
    return [
      {
        type: "status_update_event",
        data: { taskId: task.id, taskStatus: task.state, appId: app.id, host: task.host, ports: task.ports },
      },
      this.instanceChanged(
        app.id,
        task.id,
        task.state === "TASK_RUNNING" ? "Running" : "Unreachable",
        task.host,
      ),
    ];
  }

  /** A task's Marathon health check flips. */
  toggleHealth(index: number): ClusterEvent[] {
    const app = this.app(index);
    const task = app.tasks[Math.floor(this.random() * app.tasks.length)];
    if (!task || app.healthChecks.length === 0) return [];
    const alive = !(task.healthCheckResults?.[0]?.alive ?? true);
    task.healthCheckResults = app.healthChecks.map(() => ({ alive, instanceId: instanceOf(task.id) }));
    return [
      {
        type: "health_status_changed_event",
        data: { appId: app.id, instanceId: instanceOf(task.id), version: "v", alive },
      },
    ];
  }

  /** An app's labels change (a vhost is added or removed) through the API. */
  editApp(index: number): ClusterEvent[] {
    const app = this.app(index);
    const labels = app.labels as Record<string, string>;
    if (labels.HAPROXY_0_VHOST) delete labels.HAPROXY_0_VHOST;
    else labels.HAPROXY_0_VHOST = `edited-${++this.counter}.example.com`;
    return [
      {
        type: "api_post_event",
        data: { clientIp: "127.0.0.1", uri: `/v2/apps${app.id}`, appDefinition: { id: app.id } },
      },
      {
        type: "deployment_success",
        data: { id: "d", plan: { steps: [{ actions: [{ action: "RestartApplication", app: app.id }] }] } },
      },
    ];
  }

  /** Removes app `index`. */
  removeApp(index: number): ClusterEvent[] {
    const [app] = this.snapshot.apps.splice(index % this.snapshot.apps.length, 1);
    return app ? [{ type: "app_terminated_event", data: { appId: app.id } }] : [];
  }

  /** Adds a copy of app `index` under a new id and service ports. */
  addApp(index: number): ClusterEvent[] {
    const source = this.app(index);
    const n = ++this.counter;
    const app = structuredClone(source);
    app.id = `/added/app-${n}`;
    const port = 40_000 + n;
    for (const definition of (app.portDefinitions as { port: number }[] | undefined) ?? [])
      definition.port = port;
    const container = app.container as { portMappings?: { servicePort: number }[] };
    for (const mapping of container.portMappings ?? []) mapping.servicePort = port;
    for (const task of app.tasks) {
      task.appId = app.id;
      task.id = `added_app-${n}.instance-${task.id.split("instance-")[1]}`;
    }
    delete (app.labels as Record<string, string>).HAPROXY_0_VHOST;
    this.snapshot.apps.push(app);
    return [{ type: "api_post_event", data: { uri: "/v2/apps", appDefinition: { id: app.id } } }];
  }

  private instanceChanged(appId: string, taskId: string, condition: string, host: string): ClusterEvent {
    return {
      type: "instance_changed_event",
      data: {
        instanceId: instanceOf(taskId),
        condition,
        runSpecId: appId,
        agentId: "sim",
        host,
        runSpecVersion: "v",
      },
    };
  }

  /** What `GET /v2/apps/<id>?embed=app.tasks` answers, or undefined (404). */
  appJson(id: string): { app: SyntheticApp } | undefined {
    const app = this.snapshot.apps.find((a) => a.id === id);
    return app ? { app } : undefined;
  }
}
