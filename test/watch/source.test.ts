import { describe, expect, it } from "vitest";
import { SimulatedCluster } from "../../scripts/bench/cluster.ts";
import { generateSnapshot } from "../../scripts/bench/generate.ts";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { type MarathonApp, parseSnapshot } from "../../src/core/snapshot.ts";
import { RenderSource } from "../../src/watch/source.ts";
import { StatusFile } from "../../src/watch/status.ts";

/** A RenderSource over a simulated cluster; `failAppReads` makes the next per-app reads fail. */
function source() {
  const cluster = new SimulatedCluster(generateSnapshot({ apps: 10, tasksPerApp: 2, seed: 2 }), 2);
  const reads = { all: 0, apps: 0, failAppReads: 0 };
  const status = new StatusFile(undefined, { command: "render", target: "out.cfg", incremental: true });
  const rendered = new RenderSource({
    options: defaultRenderOptions,
    incremental: true,
    status,
    loadAll: async () => {
      reads.all++;
      const body = JSON.stringify(cluster.snapshot);
      return { snapshot: parseSnapshot(body, "cluster"), source: "http://marathon", body };
    },
    loadApp: async (id) => {
      reads.apps++;
      if (reads.failAppReads > 0 && reads.failAppReads--) throw new Error("Marathon unreachable");
      const found = cluster.appJson(id);
      return found ? (JSON.parse(JSON.stringify(found.app)) as MarathonApp) : undefined;
    },
  });
  return { cluster, reads, rendered, status };
}

const wire = (events: { type: string; data: Record<string, unknown> }[]) =>
  events.map((e) => ({ type: e.type, data: JSON.stringify(e.data) }));

describe("watch mode's render source", () => {
  it("a sync that fails half way makes the next sync a full read", async () => {
    const s = source();
    await s.rendered.next({ full: true, events: [] });
    s.reads.failAppReads = 1;
    await expect(s.rendered.next({ full: false, events: wire(s.cluster.editApp(1)) })).rejects.toThrow(
      "Marathon unreachable",
    );
    expect(s.reads.all).toBe(1);
    await s.rendered.next({ full: false, events: [] });
    expect(s.reads.all).toBe(2);
    expect(s.status.current).toMatchObject({ fullReads: 2, divergences: 0 });
  });

  it("an event it cannot place reads everything; one it can costs no read at all", async () => {
    const s = source();
    await s.rendered.next({ full: true, events: [] });
    await s.rendered.next({ full: false, events: wire(s.cluster.startTask(2)) });
    expect(s.reads).toMatchObject({ all: 1, apps: 0 });
    await s.rendered.next({
      full: false,
      events: [{ type: "group_change_success", data: '{"groupId":"/"}' }],
    });
    expect(s.reads).toMatchObject({ all: 2, apps: 0 });
  });

  it("more apps to read than 50 or 5 % of all apps (a big deployment) reads everything instead", async () => {
    const s = source();
    await s.rendered.next({ full: true, events: [] });
    const ids = Array.from({ length: 51 }, (_, i) => `/deployed/app-${i}`);
    const plan = { steps: [{ actions: ids.map((app) => ({ action: "StartApplication", app })) }] };
    await s.rendered.next({ full: false, events: wire([{ type: "deployment_success", data: { plan } }]) });
    expect(s.reads).toMatchObject({ all: 2, apps: 0 });
  });
});
