import { describe, expect, it } from "vitest";
import { type ClusterEvent, SimulatedCluster } from "../../scripts/bench/cluster.ts";
import { generateSnapshot, prng } from "../../scripts/bench/generate.ts";
import { IncrementalModel, type MarathonEvent } from "../../src/core/incremental.ts";
import { defaultRenderOptions, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { incumbentsOf, publishedModelOf } from "../../src/core/published.ts";
import { render } from "../../src/core/render.ts";
import { type MarathonApp, parseSnapshot, type Snapshot } from "../../src/core/snapshot.ts";

const options: RenderOptions = { ...defaultRenderOptions, groups: [] };
const wire = (events: ClusterEvent[]): MarathonEvent[] =>
  events.map((e) => ({ type: e.type, data: JSON.stringify({ eventType: e.type, ...e.data }) }));
/** A deep copy, as Marathon's JSON would be read: the model never shares objects with the simulator. */
const read = (cluster: SimulatedCluster): Snapshot =>
  parseSnapshot(JSON.stringify(cluster.snapshot), "simulated Marathon");

/** Applies events as watch mode does: exactly, else by reading the named apps or everything again. */
function follow(
  model: IncrementalModel,
  cluster: SimulatedCluster,
  events: MarathonEvent[],
  renderOptions = options,
) {
  const outcome = model.apply(events);
  if (outcome.fetchAll !== undefined)
    return { model: IncrementalModel.from(read(cluster), renderOptions), outcome };
  for (const id of outcome.fetchApps.keys()) {
    const answer = cluster.appJson(id);
    model.setApp(id, answer ? (JSON.parse(JSON.stringify(answer.app)) as MarathonApp) : undefined);
  }
  return { model, outcome };
}

describe("incremental model", () => {
  it("renders byte-identical to a full render after every step of a long random event sequence", () => {
    followRandomEvents(new SimulatedCluster(generateSnapshot({ apps: 80, tasksPerApp: 4, seed: 7 }), 7));
  });

  it("the same with blue/green deployment groups and IP-per-task apps given service ports from the range", () => {
    const snapshot = generateSnapshot({ apps: 80, tasksPerApp: 4, seed: 8 });
    const hostApps = snapshot.apps.filter((app) => Array.isArray(app.portDefinitions)).slice(0, 2);
    hostApps.forEach((app, i) => {
      const colour = i === 0 ? "green" : "blue";
      app.labels = {
        HAPROXY_DEPLOYMENT_GROUP: "shop",
        HAPROXY_DEPLOYMENT_ALT_PORT: "20001",
        HAPROXY_0_PORT: "20000",
        HAPROXY_DEPLOYMENT_COLOUR: colour,
        HAPROXY_DEPLOYMENT_STARTED_AT: `2026-01-01T1${i}:00:00`,
        HAPROXY_DEPLOYMENT_TARGET_INSTANCES: "4",
      };
    });
    for (const app of snapshot.apps.filter(
      (a) => (a.networks as { mode: string }[])[0]?.mode === "container",
    ))
      for (const mapping of (app.container as { portMappings?: { servicePort?: number }[] }).portMappings ??
        [])
        delete mapping.servicePort;
    followRandomEvents(new SimulatedCluster(snapshot, 8));
  });

  it("the same with the shared HTTPS frontend, by SNI and grouped by vhost (their rules are kept per service too)", () => {
    for (const groupHttpsByVhost of [false, true])
      followRandomEvents(
        new SimulatedCluster(generateSnapshot({ apps: 60, tasksPerApp: 3, seed: 9 }), 9),
        { ...options, sslCerts: "/etc/ssl/mhc/", groupHttpsByVhost },
        120,
      );
  });
});

function followRandomEvents(cluster: SimulatedCluster, renderOptions = options, steps = 400) {
  {
    let model = IncrementalModel.from(read(cluster), renderOptions) as IncrementalModel;
    const random = prng(99);
    const changes = [
      (i: number) => cluster.startTask(i),
      (i: number) => cluster.killTask(i),
      (i: number) => cluster.startTask(i),
      (i: number) => cluster.killTask(i),
      (i: number) => cluster.toggleReachable(i),
      (i: number) => cluster.toggleHealth(i),
      (i: number) => cluster.toggleHealth(i),
      (i: number) => cluster.editApp(i),
      (i: number) => cluster.addApp(i),
      (i: number) => cluster.removeApp(i),
    ];
    let exact = 0;
    for (let step = 0; step < steps; step++) {
      const batch: ClusterEvent[] = [];
      const size = 1 + Math.floor(random() * 8);
      for (let i = 0; i < size; i++) {
        const change = changes[Math.floor(random() * changes.length)] as (i: number) => ClusterEvent[];
        batch.push(...change(Math.floor(random() * 1_000)));
      }
      // Marathon does not promise an order: shuffle a batch now and then (a kill never overtakes
      // its own task's start here, which Marathon does keep in order).
      if (random() < 0.3)
        batch
          .reverse()
          .sort(
            (a, b) => Number(a.type === "status_update_event") - Number(b.type === "status_update_event"),
          );
      const followed = follow(model, cluster, wire(batch), renderOptions);
      model = followed.model as IncrementalModel;
      if (followed.outcome.fetchAll === undefined && followed.outcome.fetchApps.size === 0) exact++;
      const full = render(normalise(read(cluster), renderOptions), renderOptions);
      expect(model.render(model.model()), `step ${step}`).toBe(full);
    }
    // Most steps are applied from the events alone, without reading Marathon.
    expect(exact).toBeGreaterThan(steps / 4);
  }
}

describe("incremental model, single events", () => {
  it("applies task starts, kills and health changes exactly, without reading Marathon", () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 20, tasksPerApp: 3, seed: 3 }), 3);
    const model = IncrementalModel.from(read(cluster), options) as IncrementalModel;
    const events = wire([...cluster.startTask(1), ...cluster.killTask(2), ...cluster.toggleHealth(3)]);
    const outcome = model.apply(events);
    expect(outcome.fetchAll).toBeUndefined();
    expect([...outcome.fetchApps.keys()]).toEqual([]);
    expect(model.render(model.model())).toBe(render(normalise(read(cluster), options), options));
  });

  it("reads the app again for a definition change, and everything for a group change, an unknown event or bad JSON", () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 5, tasksPerApp: 2, seed: 5 }), 5);
    const model = IncrementalModel.from(read(cluster), options) as IncrementalModel;
    const id = cluster.app(0).id;
    expect([...model.apply(wire(cluster.editApp(0))).fetchApps.keys()]).toEqual([id]);
    expect(model.apply([{ type: "group_change_success", data: '{"groupId":"/"}' }]).fetchAll).toBe(
      "a group_change_success event",
    );
    expect(model.apply([{ type: "pod_created_event", data: "{}" }]).fetchAll).toBeDefined();
    expect(model.apply([{ type: "status_update_event", data: "{not json" }]).fetchAll).toBe(
      "a status_update_event event that is not JSON",
    );
    expect([
      ...model
        .apply([
          {
            type: "status_update_event",
            data: JSON.stringify({ appId: id, taskId: "t", taskStatus: "TASK_LOST" }),
          },
        ])
        .fetchApps.keys(),
    ]).toEqual([id]);
  });

  it("re-renders only the services an event changed", () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 30, tasksPerApp: 3, seed: 11 }), 11);
    const model = IncrementalModel.from(read(cluster), options) as IncrementalModel;
    const before = model.model();
    model.render(before);
    model.apply(wire(cluster.startTask(4)));
    const after = model.model();
    const changed = after.services.filter((s) => !before.services.includes(s)).map((s) => s.appId);
    expect(new Set(changed)).toEqual(new Set([cluster.app(4).id]));
  });

  it("keeps only the fields mhc reads, so apps with a wrong JSON type in one of them are left out with the same reasons as in a full render", () => {
    const snapshot: Snapshot = {
      shape: "apps",
      apps: generateSnapshot({ apps: 12, tasksPerApp: 3, seed: 13 }).apps as MarathonApp[],
    };
    const [a, b, c, d, e] = snapshot.apps as [
      MarathonApp,
      MarathonApp,
      MarathonApp,
      MarathonApp,
      MarathonApp,
    ];
    (a.tasks?.[0] as { ports: unknown }).ports = "8080";
    (b as { healthChecks: unknown }).healthChecks = {};
    (c as { tasks: unknown }).tasks = { id: "not a list" };
    (d.tasks as unknown[])[1] = 5;
    (e.tasks?.[2] as { healthCheckResults: unknown }).healthCheckResults = [{ alive: "yes" }];
    const full = normalise(structuredClone(snapshot), options);
    const model = IncrementalModel.from(structuredClone(snapshot), options) as IncrementalModel;
    const kept = model.model();
    expect(model.render(kept)).toBe(render(full, options));
    expect(kept.dropped).toEqual(full.dropped);
    expect(kept.dropped.length).toBe(5);
  });

  it("refuses a snapshot whose apps cannot be keyed by id (duplicates): such a cluster is read in full", () => {
    const app = { id: "/a", instances: 1 };
    expect(IncrementalModel.from({ shape: "apps", apps: [app, app] }, options)).toBeUndefined();
  });
});

describe("incremental model, passes across apps", () => {
  const generated = (apps: number, seed: number): Snapshot => ({
    shape: "apps",
    apps: generateSnapshot({ apps, tasksPerApp: 2, seed }).apps,
  });

  /** An app of the snapshot, copied, changed by `edit`, and put back in both the snapshot and the model. */
  function replace(
    snapshot: Snapshot,
    model: IncrementalModel,
    index: number,
    edit: (app: MarathonApp) => void,
  ) {
    const app = structuredClone(snapshot.apps[index]) as MarathonApp;
    edit(app);
    snapshot.apps[index] = app;
    model.setApp(app.id, structuredClone(app));
  }

  /** The incremental config and a full render's of the same apps, both against the same published binds. */
  function bothRenders(snapshot: Snapshot, model: IncrementalModel, incumbents: Map<string, string>) {
    const withIncumbents = { ...options, incumbents };
    const full = normalise(structuredClone(snapshot), withIncumbents);
    const kept = model.model(incumbents);
    return { full, kept, fullText: render(full, withIncumbents), keptText: model.render(kept) };
  }

  it("a bind conflict one changed app creates, and the one it leaves when it moves away, are resolved as a full render resolves them", () => {
    const snapshot = generated(12, 21);
    const model = IncrementalModel.from(structuredClone(snapshot), options) as IncrementalModel;
    let incumbents = incumbentsOf(publishedModelOf(model.model()));
    const holder = snapshot.apps[2] as MarathonApp;
    const heldPort = (holder.portDefinitions as { port: number }[])[0]?.port as number;
    // App 5 asks for app 2's port: app 2 holds it in the published config, so app 5's port is dropped.
    replace(snapshot, model, 5, (app) => {
      app.labels = { ...app.labels, HAPROXY_0_PORT: String(heldPort) };
    });
    let step = bothRenders(snapshot, model, incumbents);
    expect(step.keptText).toBe(step.fullText);
    expect(step.kept.dropped).toEqual(step.full.dropped);
    expect(step.kept.dropped.map((d) => d.appId)).toContain(snapshot.apps[5]?.id);
    incumbents = incumbentsOf(publishedModelOf(step.kept));
    // App 2 moves to another port: the conflict is gone and app 5 takes the port it asked for.
    replace(snapshot, model, 2, (app) => {
      app.labels = { ...app.labels, HAPROXY_0_PORT: "31999" };
    });
    step = bothRenders(snapshot, model, incumbents);
    expect(step.keptText).toBe(step.fullText);
    expect(step.kept.dropped).toEqual([]);
    expect(step.kept.services.find((s) => s.bindPort === heldPort)?.appId).toBe(snapshot.apps[5]?.id);
    incumbents = incumbentsOf(publishedModelOf(step.kept));
    // App 2 asks for its old port back: app 5, unchanged since, now holds it in the published config.
    replace(snapshot, model, 2, (app) => {
      app.labels = { ...app.labels, HAPROXY_0_PORT: String(heldPort) };
    });
    step = bothRenders(snapshot, model, incumbents);
    expect(step.keptText).toBe(step.fullText);
    expect(step.kept.dropped).toEqual(step.full.dropped);
    expect(step.kept.services.find((s) => s.bindPort === heldPort)?.appId).toBe(snapshot.apps[5]?.id);
  });

  it("the shared frontend's rules follow a changed route weight, as a full render orders them", () => {
    const snapshot = generated(30, 24);
    const model = IncrementalModel.from(structuredClone(snapshot), options) as IncrementalModel;
    const routed = snapshot.apps.flatMap((app, i) =>
      (app.labels as Record<string, string> | undefined)?.HAPROXY_0_VHOST ? [i] : [],
    );
    expect(routed.length).toBeGreaterThanOrEqual(3);
    for (const [index, weight] of [
      [routed[2], "5"],
      [routed[1], "9"],
      [routed[2], "0"],
    ] as [number, string][]) {
      replace(snapshot, model, index, (app) => {
        app.labels = { ...app.labels, HAPROXY_0_BACKEND_WEIGHT: weight };
      });
      const step = bothRenders(snapshot, model, new Map());
      expect(step.keptText).toBe(step.fullText);
    }
  });

  it("an app that joins or leaves a blue/green group, or starts taking service ports from the range, changes the output exactly as a full render", () => {
    const snapshot = generated(30, 22);
    const model = IncrementalModel.from(structuredClone(snapshot), options) as IncrementalModel;
    const hosts = snapshot.apps.flatMap((app, i) => (Array.isArray(app.portDefinitions) ? [i] : []));
    const containers = snapshot.apps.flatMap((app, i) =>
      (app.networks as { mode: string }[])[0]?.mode === "container" ? [i] : [],
    );
    expect(hosts.length >= 2 && containers.length >= 2).toBe(true);
    const expectSame = () => {
      const step = bothRenders(snapshot, model, new Map());
      expect(step.keptText).toBe(step.fullText);
    };
    expectSame();
    const colours = ["blue", "green"];
    hosts.slice(0, 2).forEach((index, i) => {
      replace(snapshot, model, index, (app) => {
        app.labels = {
          ...app.labels,
          HAPROXY_DEPLOYMENT_GROUP: "/shop",
          HAPROXY_0_PORT: "20000",
          HAPROXY_DEPLOYMENT_COLOUR: colours[i] as string,
          HAPROXY_DEPLOYMENT_STARTED_AT: `2026-01-01T1${i}:00:00`,
        };
      });
      expectSame();
    });
    expect(model.model().services.some((s) => s.blueGreen)).toBe(true);
    replace(snapshot, model, hosts[0] as number, (app) => {
      const { HAPROXY_DEPLOYMENT_GROUP, ...rest } = app.labels as Record<string, string>;
      app.labels = rest;
    });
    expectSame();
    replace(snapshot, model, containers[0] as number, (app) => {
      for (const mapping of (app.container as { portMappings: { servicePort?: number }[] }).portMappings)
        delete mapping.servicePort;
    });
    expectSame();
    replace(snapshot, model, containers[1] as number, (app) => {
      app.labels = { ...app.labels, HAPROXY_0_VHOST: "changed.example.com" };
    });
    expectSame();
  });

  it("keeps the conflicts pass while no bind moved: apps contending for the same ports stay resolved as a full render resolves them, step after step, against the binds each step published", () => {
    const cluster = new SimulatedCluster(generateSnapshot({ apps: 40, tasksPerApp: 3, seed: 23 }), 23);
    const contended = ["31001", "31002", "31003"];
    cluster.snapshot.apps.slice(0, 12).forEach((app, i) => {
      (app.labels as Record<string, string>).HAPROXY_0_PORT = contended[i % 3] as string;
    });
    let model = IncrementalModel.from(read(cluster), options) as IncrementalModel;
    let incumbents = new Map<string, string>();
    const random = prng(5);
    for (let step = 0; step < 150; step++) {
      const index = Math.floor(random() * 40);
      const r = random();
      let events: ClusterEvent[] = [];
      if (r < 0.15 && index < 12) {
        // A contender moves to another contended port.
        const app = cluster.app(index);
        (app.labels as Record<string, string>).HAPROXY_0_PORT = contended[Math.floor(random() * 3)] as string;
        model.setApp(app.id, JSON.parse(JSON.stringify(app)) as MarathonApp);
      } else events = r < 0.6 ? cluster.startTask(index) : cluster.killTask(index);
      model = follow(model, cluster, wire(events)).model as IncrementalModel;
      const withIncumbents = { ...options, incumbents };
      const full = normalise(read(cluster), withIncumbents);
      const kept = model.model(incumbents);
      expect(model.render(kept), `step ${step}`).toBe(render(full, withIncumbents));
      expect(kept.dropped, `step ${step}`).toEqual(full.dropped);
      expect(kept.warnings, `step ${step}`).toEqual(full.warnings);
      expect(kept.dropped.length).toBeGreaterThan(0);
      incumbents = incumbentsOf(publishedModelOf(kept));
    }
  });
});
