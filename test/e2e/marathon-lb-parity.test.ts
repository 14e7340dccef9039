import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable, type RunningHaproxy, startHaproxy } from "../helpers/haproxy.ts";
import { type Backend, freePort, httpGet, startNamedHttpServer } from "../helpers/net.ts";
import { eventually } from "../helpers/wait.ts";

/** marathon-lb behaviours that change what traffic does, through a real HAProxy. */
describe.skipIf(!haproxyAvailable())("marathon-lb parity through HAProxy", () => {
  const backends: Backend[] = [];
  let haproxy: RunningHaproxy;
  const ports = { http: 0, stats: 0, checkedOk: 0, checkedBad: 0, closed: 0 };

  beforeAll(async () => {
    const [paths, ok, bad] = await Promise.all(
      ["paths", "ok", "bad"].map((name) => startNamedHttpServer(name)),
    );
    backends.push(paths as Backend, ok as Backend, bad as Backend);
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    const checkOn = (port: number) => [
      { protocol: "HTTP", path: "/", port, intervalSeconds: 1, timeoutSeconds: 1, maxConsecutiveFailures: 1 },
    ];
    const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-mlb-"));
    const snapshot = join(dir, "apps.json");
    writeFileSync(
      snapshot,
      JSON.stringify(
        snapshotOf(
          hostApp("/paths", [await freePort()], [task({ ports: [paths?.port as number] })], {
            labels: { HAPROXY_0_VHOST: "p.example.com", HAPROXY_0_PATH: "-i /Api" },
          }),
          // Health checks given by `port`: one on the task's own port, one on a port nothing listens on.
          hostApp("/checked-ok", [ports.checkedOk], [task({ ports: [ok?.port as number] })], {
            healthChecks: checkOn(ok?.port as number),
          }),
          hostApp("/checked-bad", [ports.checkedBad], [task({ ports: [bad?.port as number] })], {
            healthChecks: checkOn(ports.closed),
          }),
        ),
      ),
    );
    const config = join(dir, "haproxy.cfg");
    const args = ["--http-port", String(ports.http), "--stats-port", String(ports.stats)];
    expect((await runMhc(["render", "--from", snapshot, ...args, "-o", config])).code).toBe(0);
    haproxy = await startHaproxy(config, ports.http);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("PATH -i routes whatever the case of the path", async () => {
    for (const path of ["/api/x", "/API/x", "/Api"]) {
      const response = await httpGet(ports.http, path, "p.example.com");
      expect(response.status).toBe(200);
      expect(response.body).toMatch(/^paths /);
    }
    expect((await httpGet(ports.http, "/other", "p.example.com")).status).toBe(503);
  });

  it("a health check given by port checks that port: a closed one takes the server out", async () => {
    await eventually(
      async () => (await httpGet(ports.checkedBad, "/")).status === 503,
      "the server checked on a closed port to go down",
    );
    expect((await httpGet(ports.checkedOk, "/")).status).toBe(200);
  });
});
