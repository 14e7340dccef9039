import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions, type Model, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { publishedModelOf, readConfigText } from "../../src/core/published.ts";
import { render } from "../../src/core/render.ts";
import { parseSnapshot, snapshotFromJson } from "../../src/core/snapshot.ts";
import { commitBody, commitSubject, compareModels } from "../../src/core/summary.ts";
import { hostApp, marathonLbHealthCheck, snapshotOf, task } from "../helpers/apps.ts";

/**
 * The behaviours of marathon-lb's own suite (tests/test_marathon_lb.py), rewritten: the same
 * Marathon input must give the same routing (frontends, backends, servers, routes) and the same
 * options (mode, health check, drain state) — not the same text, since mhc's config differs
 * deliberately (no :443/:9091 frontends here, fall = maxConsecutiveFailures, no server ids).
 */

const run = (json: unknown, options: Partial<RenderOptions> = {}) =>
  normalise(snapshotFromJson(json, "test"), { ...defaultRenderOptions, ...options });
const fixture = (name: string) => parseSnapshot(readFileSync(`fixtures/${name}`, "utf8"), name);
const configOf = (model: Model) => render(model, defaultRenderOptions);
/** The lines of one section (`backend nginx_10000`), without indentation. */
function section(config: string, header: string): string[] {
  const lines = config.split("\n");
  const start = lines.indexOf(header);
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && !line.startsWith(" "));
  return lines.slice(start + 1, end < 0 ? undefined : end).map((line) => line.trim());
}

const nginx = (extra: Record<string, unknown> = {}, ports = [10000]) =>
  hostApp("/nginx", ports, [task({ id: "nginx.1", host: "1.1.1.1", ports: [1024, 1025] })], {
    labels: { HAPROXY_GROUP: "external" },
    ...extra,
  });

describe("marathon-lb's test suite, rewritten", () => {
  it("simple app: http mode from an HTTP check, httpchk GET /, timeout and interval from the check", () => {
    const config = configOf(run(snapshotOf(nginx({ healthChecks: [marathonLbHealthCheck] }))));
    expect(section(config, "frontend nginx_10000")).toContain("bind *:10000");
    const backend = section(config, "backend nginx_10000");
    expect(backend).toEqual(
      expect.arrayContaining([
        "mode http",
        "balance roundrobin",
        "option forwardfor",
        "option httpchk GET /",
        "timeout check 10s",
        "server 1.1.1.1_1024 1.1.1.1:1024 check inter 2s fall 10",
      ]),
    );
  });

  it("COMMAND health check: the port stays tcp, no httpchk, servers still checked", () => {
    const command = {
      ...marathonLbHealthCheck,
      protocol: "COMMAND",
      portIndex: undefined,
      command: { value: "curl" },
    };
    const backend = section(
      configOf(run(snapshotOf(nginx({ healthChecks: [command] })))),
      "backend nginx_10000",
    );
    expect(backend).toContain("mode tcp");
    expect(backend.some((l) => l.startsWith("option httpchk"))).toBe(false);
    expect(backend).toContain("server 1.1.1.1_1024 1.1.1.1:1024 check");
  });

  it("TCP health check with a vhost: http mode (VHOST), no httpchk, timing from the check", () => {
    const tcp = { ...marathonLbHealthCheck, protocol: "TCP", path: undefined };
    const model = run(
      snapshotOf(
        nginx({
          healthChecks: [tcp],
          labels: { HAPROXY_GROUP: "external", HAPROXY_0_VHOST: "test.example.com" },
        }),
      ),
    );
    const backend = section(configOf(model), "backend nginx_10000");
    expect(backend).toContain("mode http");
    expect(backend.some((l) => l.startsWith("option httpchk"))).toBe(false);
    expect(backend).toContain("server 1.1.1.1_1024 1.1.1.1:1024 check inter 2s fall 10");
  });

  it("vhost: routed by Host on the shared HTTP frontend", () => {
    const model = run(snapshotOf(nginx({ labels: { HAPROXY_0_VHOST: "test.example.com" } })));
    const frontend = section(configOf(model), "frontend http_in");
    expect(frontend).toContain("acl host_nginx_10000 req.hdr(host),field(1,:) -i test.example.com");
    expect(frontend).toContain("use_backend nginx_10000 if host_nginx_10000");
  });

  it("multiple vhosts: one ACL matching each", () => {
    const model = run(snapshotOf(nginx({ labels: { HAPROXY_0_VHOST: "test.example.com,test" } })));
    expect(model.services[0]?.vhosts).toEqual(["test.example.com", "test"]);
    expect(section(configOf(model), "frontend http_in")).toContain(
      "acl host_nginx_10000 req.hdr(host),field(1,:) -i test.example.com test",
    );
  });

  it("vhost with path: both must match", () => {
    const model = run(
      snapshotOf(nginx({ labels: { HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_PATH: "/some/path" } })),
    );
    const frontend = section(configOf(model), "frontend http_in");
    expect(frontend).toContain("acl path_nginx_10000 path_beg /some/path");
    expect(frontend).toContain("use_backend nginx_10000 if host_nginx_10000 path_nginx_10000");
  });

  it("PATH with -i matches case-insensitively (the flag is kept, not dropped)", () => {
    const model = run(
      snapshotOf(
        nginx({ labels: { HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_PATH: "-i /Some/Path /x" } }),
      ),
    );
    expect(model.services[0]).toMatchObject({ paths: ["/Some/Path", "/x"], pathsIgnoreCase: true });
    expect(section(configOf(model), "frontend http_in")).toContain(
      "acl path_nginx_10000 path_beg -i /Some/Path /x",
    );
  });

  // marathon-lb's test sets weights 0..3 on service objects; through labels, a PATH route of weight 0
  // counts as 1 (in both), so the weights here start at 1 to keep the test's order.
  it("routes on the shared frontend are ordered by BACKEND_WEIGHT, highest first", () => {
    const apps = [0, 1, 2, 3].map((weight) =>
      hostApp(`/nginx${weight || ""}`, [10000 + weight], [task({ ports: [1024] })], {
        labels: {
          HAPROXY_0_VHOST: "test.example.com,test",
          HAPROXY_0_PATH: "/some/path",
          HAPROXY_0_BACKEND_WEIGHT: String(weight + 1),
        },
      }),
    );
    const uses = section(configOf(run(snapshotOf(...apps))), "frontend http_in").filter((l) =>
      l.startsWith("use_backend"),
    );
    expect(uses.map((l) => l.split(" ")[1])).toEqual([
      "nginx3_10003",
      "nginx2_10002",
      "nginx1_10001",
      "nginx_10000",
    ]);
  });

  it("balance label", () => {
    const model = run(snapshotOf(nginx({ labels: { HAPROXY_0_BALANCE: "leastconn" } })));
    expect(section(configOf(model), "backend nginx_10000")).toContain("balance leastconn");
  });

  it("health check given by port: applies to the port, and HAProxy checks that port", () => {
    const byPort = { ...marathonLbHealthCheck, portIndex: undefined, port: 1024 };
    const model = run(snapshotOf(nginx({ healthChecks: [byPort] })));
    expect(model.services[0]?.mode).toBe("http");
    expect(model.services[0]?.healthCheck).toMatchObject({ kind: "http", port: 1024, fall: 10 });
    expect(section(configOf(model), "backend nginx_10000")).toContain(
      "server 1.1.1.1_1024 1.1.1.1:1024 check inter 2s fall 10 port 1024",
    );
  });

  it("health checks by port index: each port gets its own check; a check by port index wins over one by port", () => {
    const admin = { ...marathonLbHealthCheck, portIndex: 1, path: "/admin" };
    const byPort = { ...marathonLbHealthCheck, portIndex: undefined, port: 9999, path: "/by-port" };
    const model = run(snapshotOf(nginx({ healthChecks: [byPort, admin] }, [10000, 10001])));
    expect(model.services.map((s) => [s.name, s.healthCheck?.path, s.healthCheck?.port])).toEqual([
      ["nginx_10000", "/by-port", 9999],
      ["nginx_10001", "/admin", undefined],
    ]);
  });

  it("groups: app group fallback, per-port group overrides (hybrid)", () => {
    const both = nginx({ labels: { HAPROXY_GROUP: "external,internal" } }, [10000, 10001]);
    expect(run(snapshotOf(both), { groups: ["external"] }).services.map((s) => s.name)).toEqual([
      "nginx_10000",
      "nginx_10001",
    ]);
    const perService = nginx(
      { labels: { HAPROXY_0_GROUP: "external", HAPROXY_1_GROUP: "internal" } },
      [10000, 10001],
    );
    expect(run(snapshotOf(perService), { groups: ["external"] }).services.map((s) => s.name)).toEqual([
      "nginx_10000",
    ]);
    const hybrid = nginx(
      { labels: { HAPROXY_GROUP: "external", HAPROXY_0_GROUP: "internal" } },
      [10000, 10001],
    );
    expect(run(snapshotOf(hybrid), { groups: ["external"] }).services.map((s) => s.name)).toEqual([
      "nginx_10001",
    ]);
  });

  it("strict mode on and off: with --strict-mode only ENABLED=true ports are rendered", () => {
    const apps = snapshotOf(
      hostApp("/nginx1", [10000], [task({ ports: [1024] })], {
        labels: { HAPROXY_0_VHOST: "server.nginx.net" },
      }),
      hostApp("/nginx2", [10001], [task({ ports: [1025] })], {
        labels: { HAPROXY_0_VHOST: "server.nginx.net", HAPROXY_0_ENABLED: "true" },
      }),
    );
    expect(run(apps, { strictMode: true }).services.map((s) => s.name)).toEqual(["nginx2_10001"]);
    expect(run(apps).services.map((s) => s.name)).toEqual(["nginx1_10000", "nginx2_10001"]);
  });

  it("backend disabled and enabled: ENABLED=false hides a port in either mode", () => {
    const apps = snapshotOf(
      hostApp("/nginx1", [10000], [task({ ports: [1024] })], { labels: { HAPROXY_0_ENABLED: "false" } }),
      hostApp("/nginx2", [10001], [task({ ports: [1025] })], { labels: { HAPROXY_0_ENABLED: "true" } }),
    );
    expect(run(apps).services.map((s) => s.name)).toEqual(["nginx2_10001"]);
    expect(run(apps, { strictMode: true }).services.map((s) => s.name)).toEqual(["nginx2_10001"]);
  });

  it("Marathon 1.5 bridge app (marathon-lb's fixture): service port 10101, server on the agent's host port", () => {
    const model = normalise(fixture("marathon15-bridge-app.json"), defaultRenderOptions);
    expect(model.services.map((s) => [s.name, s.servers.map((x) => `${x.host}:${x.port}`)])).toEqual([
      ["pywebserver_10101", ["10.0.2.148:1565"]],
    ]);
  });
});

describe("blue/green: marathon-lb's zdd fixtures", () => {
  const servers = (model: Model) =>
    model.services.map((s) => [
      s.name,
      s.servers.map((x) => `${x.host}:${x.port}${x.draining ? " draining" : ""}`),
    ]);

  it("zdd_apps.json: both colours share one frontend and backend on the group's port; one old green server drains", () => {
    const model = normalise(fixture("mlb-zdd_apps.json"), defaultRenderOptions);
    // marathon-lb's expected config: four servers sorted by address, 10.0.6.25:31184 `disabled`.
    expect(servers(model)).toEqual([
      ["nginx_10000", ["10.0.1.147:25724", "10.0.6.25:16916", "10.0.6.25:23336", "10.0.6.25:31184 draining"]],
    ]);
    expect(model.services[0]).toMatchObject({
      appId: "/nginx",
      bindPort: 10000,
      mode: "http",
      healthCheck: { kind: "http", path: "/", intervalSeconds: 3, timeoutSeconds: 15 },
      blueGreen: { newApp: "/nginx-blue", newColour: "blue", oldApps: ["/nginx-green"], newServers: 1 },
    });
    expect(model.warnings).toEqual([]);
    const backend = section(configOf(model), "backend nginx_10000");
    expect(backend).toContain("server 10.0.6.25_31184 10.0.6.25:31184 check inter 3s fall 10 disabled");
    expect(backend.filter((l) => l.endsWith(" disabled"))).toHaveLength(1);
  });

  it("80 zdd scenarios render to the servers and drain states marathon-lb gives them", () => {
    const { cases } = JSON.parse(readFileSync("fixtures/mlb-zdd-scenarios.json", "utf8")) as {
      cases: { apps: unknown[]; marathonLb: Record<string, string[]> }[];
    };
    for (const { apps, marathonLb } of cases) {
      const model = run({ apps });
      // marathon-lb leaves out a backend without servers; mhc keeps it empty (a deliberate difference).
      const rendered = model.services
        .filter((s) => s.servers.length > 0)
        .map((s) => [
          `${s.appId}_${s.bindPort}`,
          s.servers.map((x) => `${x.host}:${x.port}${x.draining ? " draining" : ""}`),
        ]);
      expect(Object.fromEntries(rendered)).toEqual(marathonLb);
    }
  });

  it.each(["mlb-zdd_app_blue.json", "mlb-zdd_app_blue_marathon1.5.json"])(
    "%s: one colour alone is the group's app, nothing drains",
    (name) => {
      const model = normalise(fixture(name), defaultRenderOptions);
      expect(servers(model)).toEqual([
        ["nginx_10000", ["10.0.6.25:16916", "10.0.6.25:23336", "10.0.6.25:31184"]],
      ]);
      expect(model.services[0]?.appId).toBe("/nginx");
    },
  );

  const colour = (
    id: string,
    startedAt: string,
    tasks: Record<string, unknown>[],
    extra: Record<string, string> = {},
  ) =>
    hostApp(id, [id.endsWith("blue") ? 10001 : 10000], tasks, {
      instances: tasks.length,
      labels: {
        HAPROXY_DEPLOYMENT_GROUP: "app",
        HAPROXY_DEPLOYMENT_ALT_PORT: "10001",
        HAPROXY_0_PORT: "10000",
        HAPROXY_DEPLOYMENT_STARTED_AT: startedAt,
        HAPROXY_DEPLOYMENT_COLOUR: id.endsWith("blue") ? "blue" : "green",
        HAPROXY_DEPLOYMENT_NEW_INSTANCES: "0",
        HAPROXY_APP_ID: "/app",
        ...extra,
      },
      healthChecks: [{ ...marathonLbHealthCheck, intervalSeconds: 1 }],
    });
  const greens = [1, 2, 3, 4].map((i) =>
    task({ id: `app-green.${i}`, host: "10.0.0.1", ports: [31000 + i], alive: [true] }),
  );
  const blues = (healthy: number) =>
    [1, 2, 3].map((i) =>
      task({ id: `app-blue.${i}`, host: "10.0.0.2", ports: [32000 + i], alive: [i <= healthy] }),
    );

  it("old servers drain one per healthy new server, never below TARGET_INSTANCES", () => {
    const draining = (healthy: number, target: string) => {
      const model = run(
        snapshotOf(
          colour("/app-green", "2026-01-01T10:00:00", greens),
          colour("/app-blue", "2026-01-01T11:00:00.5", blues(healthy), {
            HAPROXY_DEPLOYMENT_TARGET_INSTANCES: target,
          }),
        ),
      );
      expect(model.warnings).toEqual([]);
      return model.services[0]?.servers.filter((s) => s.draining).map((s) => s.taskId);
    };
    expect(draining(0, "4")).toEqual([]);
    expect(draining(1, "4")).toEqual(["app-green.1"]);
    expect(draining(3, "4")).toEqual(["app-green.1", "app-green.2", "app-green.3"]);
    // Healthy new + old instances may not fall below the target: 2 + 4 − 5 = 1.
    expect(draining(2, "5")).toEqual(["app-green.1"]);
  });

  it("the new colour is the one that started last, whatever the ids or time zones", () => {
    const model = run(
      snapshotOf(
        colour("/app-blue", "2026-01-01T10:00:00+02:00", blues(3)),
        colour("/app-green", "2026-01-01T09:00:00Z", greens),
      ),
    );
    expect(model.services[0]?.blueGreen).toMatchObject({ newApp: "/app-green", oldApps: ["/app-blue"] });
    // The older colour (blue) defines the service: its HAPROXY_0_PORT binds.
    expect(model.services[0]).toMatchObject({ appId: "/app", bindPort: 10000 });
  });

  it("an invalid deployment label leaves that app out with the reason", () => {
    const model = run(snapshotOf(colour("/app-green", "yesterday", greens)));
    expect(model.services).toEqual([]);
    expect(model.dropped).toEqual([
      {
        appId: "/app-green",
        portIndex: null,
        reason: 'HAPROXY_DEPLOYMENT_STARTED_AT "yesterday" is not an ISO 8601 time',
      },
    ]);
  });

  it("deployment labels without a deployment group do nothing, and say so", () => {
    const model = run(
      snapshotOf(hostApp("/x", [12000], [], { labels: { HAPROXY_DEPLOYMENT_COLOUR: "blue" } })),
    );
    expect(model.services.map((s) => s.appId)).toEqual(["/x"]);
    expect(model.warnings).toEqual([
      "app /x: HAPROXY_DEPLOYMENT_COLOUR ignored: no HAPROXY_DEPLOYMENT_GROUP",
    ]);
  });

  it("a deployment group that is also another app's id leaves the colours out with the reason", () => {
    const model = run(
      snapshotOf(colour("/app-green", "2026-01-01T10:00:00", greens), hostApp("/app", [12000], [])),
    );
    expect(model.services.map((s) => s.appId)).toEqual(["/app"]);
    expect(model.dropped).toEqual([
      {
        appId: "/app-green",
        portIndex: null,
        reason: "HAPROXY_DEPLOYMENT_GROUP /app is also the id of another app",
      },
    ]);
  });

  it('the commit message says "blue/green /app: 1 new, 1 draining", from the model and from the config text', () => {
    const before = run(snapshotOf(colour("/app-green", "2026-01-01T10:00:00", greens)));
    const after = run(
      snapshotOf(
        colour("/app-green", "2026-01-01T10:00:00", greens),
        colour("/app-blue", "2026-01-01T11:00:00", blues(1).slice(0, 1), {
          HAPROXY_DEPLOYMENT_TARGET_INSTANCES: "4",
        }),
      ),
    );
    for (const read of [publishedModelOf, (m: Model) => readConfigText(configOf(m))]) {
      const changes = compareModels(read(before), read(after));
      expect(commitSubject(changes)).toBe("haproxy: blue/green /app: 1 new, 1 draining");
      expect(commitBody({ changes })).toContain("    blue/green /app: 1 new, 1 draining");
    }
  });
});
