import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable, type RunningHaproxy, startHaproxy } from "../helpers/haproxy.ts";
import { json, type MarathonServer, startMarathon } from "../helpers/marathon.ts";
import {
  type Backend,
  freePort,
  httpGet,
  startNamedHttpServer,
  startNamedTcpServer,
  tcpRead,
} from "../helpers/net.ts";

/**
 * The whole path with real parts: a Marathon stand-in serving real-shaped JSON whose tasks point at
 * real servers on 127.0.0.1, `mhc render`, `haproxy -c`, then a real HAProxy carrying traffic.
 * Only eligible tasks may ever answer.
 */
describe.skipIf(!haproxyAvailable())("render → HAProxy → traffic", () => {
  const backends: Backend[] = [];
  let marathon: MarathonServer;
  let haproxy: RunningHaproxy;
  const ports = { web: 0, tcp: 0, http: 0, stats: 0 };
  const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-"));
  const configFile = join(dir, "haproxy.cfg");

  beforeAll(async () => {
    const [webA, webB, webStaging, webSick, tcpA, tcpKilling] = await Promise.all([
      startNamedHttpServer("web-a"),
      startNamedHttpServer("web-b"),
      startNamedHttpServer("web-staging"),
      startNamedHttpServer("web-sick"),
      startNamedTcpServer("tcp-a"),
      startNamedTcpServer("tcp-killing"),
    ]);
    backends.push(webA, webB, webStaging, webSick, tcpA, tcpKilling);
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    const healthCheck = {
      protocol: "HTTP",
      path: "/",
      portIndex: 0,
      intervalSeconds: 1,
      timeoutSeconds: 1,
      maxConsecutiveFailures: 2,
    };
    const snapshot = snapshotOf(
      hostApp(
        "/shop/web",
        [ports.web],
        [
          task({ ports: [webA.port], alive: [true] }),
          task({ ports: [webB.port] }), // no health results yet: kept, HAProxy checks it
          task({ ports: [webStaging.port], state: "TASK_STAGING" }),
          task({ ports: [webSick.port], alive: [false] }),
        ],
        { labels: { HAPROXY_0_VHOST: "shop.example.com" }, healthChecks: [healthCheck] },
      ),
      hostApp(
        "/db",
        [ports.tcp],
        [task({ ports: [tcpA.port] }), task({ ports: [tcpKilling.port], state: "TASK_KILLING" })],
      ),
    );
    marathon = await startMarathon(() => json(snapshot));
    const result = await runMhc([
      "render",
      `127.0.0.1:${marathon.port}`,
      "--http-port",
      String(ports.http),
      "--stats-port",
      String(ports.stats),
      "-o",
      configFile,
    ]);
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    haproxy = await startHaproxy(configFile, ports.web);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await marathon?.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("mhc validate (haproxy -c) accepts the rendered config", async () => {
    const result = await runMhc(["validate", configFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${configFile}: valid\n`);
  });

  it("HTTP traffic on the service port reaches only running, healthy tasks", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const response = await httpGet(ports.web, "/");
      expect(response.status).toBe(200);
      seen.add(response.body.split(" ")[0] as string);
    }
    expect([...seen].sort()).toEqual(["web-a", "web-b"]);
  });

  it("the shared HTTP frontend routes by Host header, case-insensitively and with the port stripped", async () => {
    for (const host of ["shop.example.com", "SHOP.Example.com:8080"]) {
      const response = await httpGet(ports.http, "/x", host);
      expect(response.status).toBe(200);
      expect(response.body).toMatch(/^web-[ab] /);
    }
    expect((await httpGet(ports.http, "/", "other.example.com")).status).toBe(503);
  });

  it("TCP traffic reaches only the running task", async () => {
    const answers = new Set<string>();
    for (let i = 0; i < 8; i++) answers.add((await tcpRead(ports.tcp)).trim());
    expect([...answers]).toEqual(["tcp-a"]);
  });

  it("the stats page answers on loopback", async () => {
    expect((await httpGet(ports.stats, "/_haproxy_health_check")).status).toBe(200);
  });
});

describe.skipIf(!haproxyAvailable())("unresolvable agent host names", () => {
  it("leave that server down but the config valid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-dns-"));
    const snapshot = join(dir, "apps.json");
    writeFileSync(
      snapshot,
      JSON.stringify(
        snapshotOf(hostApp("/a", [10000], [task({ host: "no-such-agent.invalid", ports: [1] })])),
      ),
    );
    const config = join(dir, "haproxy.cfg");
    expect((await runMhc(["render", "--from", snapshot, "-o", config])).code).toBe(0);
    expect((await runMhc(["validate", config])).code).toBe(0);
  });
});

describe.skipIf(!haproxyAvailable())("one bad app never breaks the rest (real HAProxy, real traffic)", () => {
  const backends: Backend[] = [];
  let haproxy: RunningHaproxy | undefined;
  const ports = { vhosted: 0, catchAll: 0, guarded: 0, http: 0, stats: 0 };
  let result: Awaited<ReturnType<typeof runMhc>>;
  let snapshotFile = "";

  beforeAll(async () => {
    const [vhosted, catchAll, hostile] = await Promise.all([
      startNamedHttpServer("vhosted"),
      startNamedHttpServer("catch-all"),
      startNamedHttpServer("hostile"),
    ]);
    backends.push(vhosted, catchAll, hostile);
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-routes-"));
    snapshotFile = join(dir, "apps.json");
    writeFileSync(
      snapshotFile,
      JSON.stringify(
        snapshotOf(
          hostApp("/shop", [ports.vhosted], [task({ ports: [vhosted.port] })], {
            labels: { HAPROXY_0_VHOST: "shop.example.com" },
          }),
          // Sorts first and routes `/` without a vhost: it must only get requests no vhost claims.
          hostApp("/a-catch-all", [ports.catchAll], [task({ ports: [catchAll.port] })], {
            labels: { HAPROXY_0_PATH: "/" },
          }),
          // Wrong JSON types and values HAProxy rejects: each left out, the rest published.
          hostApp("/broken-types", [20001], [task({ ports: [hostile.port] })], { healthChecks: {} }),
          hostApp("/broken-balance", [20002], [task({ ports: [hostile.port] })], {
            labels: { HAPROXY_0_BALANCE: "random(0)", HAPROXY_0_VHOST: "broken.example.com" },
          }),
          hostApp("/guarded", [ports.guarded], [task({ ports: [hostile.port] })], {
            // An AUTH label mhc cannot read (no password): the port is left out, never served without auth.
            labels: { HAPROXY_0_AUTH: "secret-realm:user", HAPROXY_0_VHOST: "guarded.example.com" },
          }),
        ),
      ),
    );
    const config = join(dir, "haproxy.cfg");
    result = await runMhc([
      "render",
      "--from",
      snapshotFile,
      "--http-port",
      String(ports.http),
      "--stats-port",
      String(ports.stats),
      "-o",
      config,
    ]);
    if (result.code === 0) haproxy = await startHaproxy(config, ports.http);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("render exits 0 and names each app left out with its reason", () => {
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      "app /broken-types skipped: wrong JSON type: healthChecks is an object, not a list",
    );
    expect(result.stderr).toContain(
      'app /broken-balance port index 0 skipped: HAPROXY_0_BALANCE "random(0)" is not a valid balance',
    );
    expect(result.stderr).toContain(
      "app /guarded port index 0 skipped: HAPROXY_0_AUTH is not realm:user:password",
    );
    expect(result.stderr).not.toContain("secret");
  });

  it("render --json has schema 1, stable keys and the structured dropped list", async () => {
    const json = await runMhc(["render", "--from", snapshotFile, "--json"]);
    expect(json.code).toBe(0);
    const model = JSON.parse(json.stdout);
    expect(Object.keys(model)).toEqual(["schema", "services", "excluded", "dropped", "warnings"]);
    expect(model.schema).toBe(1);
    expect(model.services.map((s: { healthCheck: unknown }) => s.healthCheck)).toEqual([null, null]);
    for (const service of model.services) {
      expect(service.blueGreen).toBeNull();
      expect(service.pathsIgnoreCase).toBe(false);
      for (const server of service.servers) expect(server.draining).toBe(false);
    }
    expect(model.dropped).toEqual([
      {
        appId: "/broken-balance",
        portIndex: 0,
        reason: 'HAPROXY_0_BALANCE "random(0)" is not a valid balance',
      },
      {
        appId: "/broken-types",
        portIndex: null,
        reason: "wrong JSON type: healthChecks is an object, not a list",
      },
      { appId: "/guarded", portIndex: 0, reason: "HAPROXY_0_AUTH is not realm:user:password" },
    ]);
  });

  it("a path-only route (HAPROXY_0_PATH=/) does not capture another app's vhost traffic", async () => {
    for (let i = 0; i < 4; i++) {
      const response = await httpGet(ports.http, "/", "shop.example.com");
      expect(response.body).toMatch(/^vhosted /);
    }
    expect((await httpGet(ports.http, "/x", "other.example.com")).body).toMatch(/^catch-all /);
  });

  it("no request reaches an app that was left out (an unreadable AUTH is not served without auth)", async () => {
    for (const host of ["guarded.example.com", "broken.example.com", "shop.example.com"]) {
      const response = await httpGet(ports.http, "/", host);
      expect(response.body).not.toMatch(/^hostile/);
    }
    expect((await httpGet(ports.http, "/", "guarded.example.com")).body).toMatch(/^catch-all /);
    // Nor on its own service port: nothing listens there.
    await expect(httpGet(ports.guarded, "/")).rejects.toThrow(/ECONNREFUSED/);
  });
});
