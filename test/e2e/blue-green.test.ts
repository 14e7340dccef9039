import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable, type RunningHaproxy, startHaproxy } from "../helpers/haproxy.ts";
import { json, type MarathonServer, startMarathon } from "../helpers/marathon.ts";
import { type Backend, freePort, httpGet, startNamedHttpServer } from "../helpers/net.ts";

/**
 * Blue/green with real parts: two colours of one deployment group served by real HTTP servers,
 * rendered by `mhc render` from a Marathon stand-in, carried by a real HAProxy. The group's one
 * service port must reach the new colour and the old servers that do not drain, never a draining one.
 */
describe.skipIf(!haproxyAvailable())("blue/green draining through HAProxy", () => {
  const backends: Record<string, Backend> = {};
  let marathon: MarathonServer;
  let snapshot: unknown;
  let servicePort = 0;
  let statsPort = 0;
  let altPort = 0;
  const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-bg-"));

  const colour = (name: "green" | "blue", startedAt: string, taskNames: string[], target: number) =>
    hostApp(
      `/shop-${name}`,
      [name === "green" ? servicePort : altPort],
      taskNames.map((t) =>
        task({ id: `shop-${name}.${t}`, ports: [backends[`${name}-${t}`]?.port as number], alive: [true] }),
      ),
      {
        labels: {
          HAPROXY_DEPLOYMENT_GROUP: "shop",
          HAPROXY_DEPLOYMENT_ALT_PORT: String(altPort),
          HAPROXY_0_PORT: String(servicePort),
          HAPROXY_DEPLOYMENT_COLOUR: name,
          HAPROXY_DEPLOYMENT_STARTED_AT: startedAt,
          HAPROXY_DEPLOYMENT_TARGET_INSTANCES: String(target),
        },
        healthChecks: [{ protocol: "HTTP", path: "/", portIndex: 0, intervalSeconds: 1, timeoutSeconds: 1 }],
      },
    );

  /** Renders the current snapshot and starts HAProxy on it; the caller stops it. */
  async function serve(name: string): Promise<RunningHaproxy> {
    const config = join(dir, `${name}.cfg`);
    const args = ["render", `127.0.0.1:${marathon.port}`, "--stats-port", String(statsPort), "-o", config];
    const result = await runMhc(args);
    expect(result.code).toBe(0);
    return startHaproxy(config, servicePort);
  }

  async function answers(requests: number): Promise<string[]> {
    const seen = new Set<string>();
    for (let i = 0; i < requests; i++) {
      const response = await httpGet(servicePort, "/");
      expect(response.status).toBe(200);
      seen.add(response.body.split(" ")[0] as string);
    }
    return [...seen].sort();
  }

  beforeAll(async () => {
    for (const name of ["green-1", "green-2", "blue-1", "blue-2"])
      backends[name] = await startNamedHttpServer(name);
    [servicePort, statsPort, altPort] = [await freePort(), await freePort(), await freePort()];
    marathon = await startMarathon(() => json(snapshot));
  });

  afterAll(async () => {
    await marathon?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it("mid-deployment: the group's service port serves the new colour and the old servers not draining", async () => {
    // Green (old, 2 instances) and one healthy blue; target 2: one green server drains (shop-green.1).
    snapshot = snapshotOf(
      colour("green", "2026-01-01T10:00:00", ["1", "2"], 2),
      colour("blue", "2026-01-01T11:00:00", ["1"], 2),
    );
    const model = JSON.parse((await runMhc(["render", `127.0.0.1:${marathon.port}`, "--json"])).stdout);
    expect(model.services[0].blueGreen).toEqual({
      newApp: "/shop-blue",
      newColour: "blue",
      oldApps: ["/shop-green"],
      newServers: 1,
    });
    expect(model.services[0].healthCheck.port).toBeNull();
    const draining = model.services[0].servers.filter((s: { draining: boolean }) => s.draining);
    expect(draining.map((s: { taskId: string }) => s.taskId)).toEqual(["shop-green.1"]);
    const haproxy = await serve("mid");
    try {
      expect(await answers(24)).toEqual(["blue-1", "green-2"]);
    } finally {
      await haproxy.stop();
    }
  });

  it("new colour complete: every old server drains and takes no new connections", async () => {
    snapshot = snapshotOf(
      colour("green", "2026-01-01T10:00:00", ["1", "2"], 2),
      colour("blue", "2026-01-01T11:00:00", ["1", "2"], 2),
    );
    const haproxy = await serve("done");
    try {
      expect(await answers(24)).toEqual(["blue-1", "blue-2"]);
      // The alternate port the new colour was deployed on is not bound: one port per group.
      await expect(httpGet(altPort, "/")).rejects.toThrow();
    } finally {
      await haproxy.stop();
    }
  });
});
