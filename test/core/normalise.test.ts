import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { labelTable } from "../../src/core/labels.ts";
import { defaultRenderOptions, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { parseSnapshot, snapshotFromJson } from "../../src/core/snapshot.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";

const fixture = (name: string) => parseSnapshot(readFileSync(`fixtures/${name}`, "utf8"), name);
const run = (json: unknown, options: Partial<RenderOptions> = {}) =>
  normalise(snapshotFromJson(json, "test"), { ...defaultRenderOptions, ...options });
const addresses = (model: ReturnType<typeof run>, index = 0) =>
  model.services[index]?.servers.map((s) => `${s.host}:${s.port}`);

describe("network shapes", () => {
  it("host networking: portDefinitions give service ports, task ports give servers", () => {
    const model = run(
      snapshotOf(hostApp("/web", [10000, 10001], [task({ host: "10.0.0.1", ports: [31001, 31002] })])),
    );
    expect(model.services.map((s) => s.name)).toEqual(["web_10000", "web_10001"]);
    expect(addresses(model, 0)).toEqual(["10.0.0.1:31001"]);
    expect(addresses(model, 1)).toEqual(["10.0.0.1:31002"]);
  });

  it("Marathon 1.4 legacy `ports` without portDefinitions", () => {
    const app = { id: "/old", ports: [10005], tasks: [task({ host: "a.example", ports: [4000] })] };
    expect(addresses(run(snapshotOf(app)))).toEqual(["a.example:4000"]);
  });

  it("Marathon 1.4 docker BRIDGE portMappings", () => {
    const app = {
      id: "/bridge14",
      container: {
        docker: { network: "BRIDGE", portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10010 }] },
      },
      portDefinitions: null,
      tasks: [task({ host: "10.0.0.2", ports: [31555], ipAddresses: ["172.17.0.5"] })],
    };
    const model = run(snapshotOf(app));
    expect(model.services[0]?.servicePort).toBe(10010);
    expect(addresses(model)).toEqual(["10.0.0.2:31555"]);
  });

  it("Marathon 1.5 container/bridge (marathon-lb's fixture) uses the agent host and host port", () => {
    const model = normalise(fixture("marathon15-bridge-app.json"), defaultRenderOptions);
    expect(model.services[0]).toMatchObject({
      name: "pywebserver_10101",
      mode: "http",
      vhosts: ["myvhost.com"],
    });
    expect(addresses(model)).toEqual(["10.0.2.148:1565"]);
  });

  it("Marathon 1.5 container networking: IP-per-task uses the task IP and container port", () => {
    const app = {
      id: "/ippt",
      networks: [{ mode: "container", name: "dcos" }],
      container: { portMappings: [{ containerPort: 8080, servicePort: 10020 }] },
      tasks: [task({ host: "agent1", ports: [], ipAddresses: ["9.0.0.7"] })],
    };
    expect(addresses(run(snapshotOf(app)))).toEqual(["9.0.0.7:8080"]);
  });

  it("container networking with a hostPort on only some mappings indexes task ports among those", () => {
    const app = {
      id: "/mixed",
      networks: [{ mode: "container", name: "dcos" }],
      container: {
        portMappings: [
          { containerPort: 7000, servicePort: 10030 },
          { containerPort: 8000, hostPort: 0, servicePort: 10031 },
        ],
      },
      tasks: [task({ host: "10.1.1.1", ports: [31999], ipAddresses: ["9.0.0.8"] })],
    };
    const model = run(snapshotOf(app));
    expect(addresses(model, 0)).toEqual(["9.0.0.8:7000"]);
    expect(addresses(model, 1)).toEqual(["10.1.1.1:31999"]);
  });

  it("Marathon 1.4 ipAddress discovery ports", () => {
    const app = {
      id: "/disc",
      ipAddress: { discovery: { ports: [{ number: 9000, name: "x", protocol: "tcp" }] } },
      portDefinitions: [{ port: 10040 }],
      tasks: [task({ ipAddresses: ["9.0.0.9"] })],
    };
    expect(addresses(run(snapshotOf(app)))).toEqual(["9.0.0.9:9000"]);
  });

  it("requirePorts: the service port is the host port when the task lists none", () => {
    const app = hostApp("/fixed", [10050], [task({ host: "10.0.0.3", ports: [] })], { requirePorts: true });
    expect(addresses(run(snapshotOf(app)))).toEqual(["10.0.0.3:10050"]);
  });

  it("null means absent everywhere", () => {
    const app = {
      id: "/nulls",
      labels: null,
      healthChecks: null,
      container: null,
      networks: null,
      portDefinitions: [{ port: 10060, labels: null }],
      tasks: [{ ...task({ host: "10.0.0.4", ports: [31060] }), healthCheckResults: null, ipAddresses: null }],
    };
    expect(addresses(run(snapshotOf(app)))).toEqual(["10.0.0.4:31060"]);
  });

  it("an app without service ports renders nothing, like the original script", () => {
    const app = hostApp("/noports", [], [task()]);
    expect(run(snapshotOf(app)).services).toEqual([]);
  });

  it.each([70000, -1, 1e300, 10000.5])(
    "a service port Marathon never gives (%s) drops that port with the reason, never silently",
    (port) => {
      const model = run(snapshotOf(hostApp("/bad", [port, 10001], [task({ ports: [31000, 31001] })])));
      expect(model.services.map((s) => s.bindPort)).toEqual([10001]);
      expect(model.dropped).toEqual([
        { appId: "/bad", portIndex: 0, reason: `service port ${port} is not a port number (1-65535)` },
      ]);
    },
  );

  it("the /v2/tasks shape becomes plain TCP services per service port", () => {
    const model = normalise(fixture("tasks.json"), defaultRenderOptions);
    expect(model.services.map((s) => [s.name, s.mode, s.servers.map((x) => `${x.host}:${x.port}`)])).toEqual([
      ["frontend-foosball_10019", "tcp", ["srv4.example.com:31292"]],
      ["tools_docker_registry_5000", "tcp", ["srv2.example.com:31721"]],
    ]);
  });

  it("a /v2/tasks entry without a string appId is left out with a warning; the other tasks render", () => {
    const good = {
      appId: "/b",
      host: "10.0.0.1",
      ports: [31000],
      servicePorts: [10001],
      state: "TASK_RUNNING",
    };
    const model = run({ tasks: [null, { ...good, appId: 5 }, good] });
    expect(model.services.map((s) => addresses(model, model.services.indexOf(s)))).toEqual([
      ["10.0.0.1:31000"],
    ]);
    expect(model.dropped).toEqual([
      { appId: "(no id)", portIndex: null, reason: "wrong JSON type: id is a number, not a string" },
      { appId: "(no id)", portIndex: null, reason: "wrong JSON type: the entry is null, not an app object" },
    ]);
  });

  it.each([
    "app.json",
    "app_list.json",
    "group.json",
    "marathon15-bridge-app.json",
    "real-100-apps.json",
    "tasks.json",
  ])("shared fixture %s normalises without warnings", (name) => {
    const model = normalise(fixture(name), defaultRenderOptions);
    expect(model.warnings).toEqual([]);
    expect(model.services.length).toBeGreaterThan(0);
  });

  it("the real 1,000-app dump (a /v2/groups shape) gives 1,000 services", () => {
    const model = normalise(fixture("real-1000-apps.json"), defaultRenderOptions);
    expect(model.services).toHaveLength(1000);
    expect(new Set(model.services.map((s) => s.bindPort)).size).toBe(1000);
  });
});

describe("task eligibility", () => {
  const states = [
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_LOST",
    "TASK_ERROR",
    "TASK_GONE",
    "TASK_DROPPED",
    "TASK_UNKNOWN",
    "TASK_UNREACHABLE",
  ];

  it.each(states)("%s is excluded with its state as the reason", (state) => {
    const model = run(snapshotOf(hostApp("/s", [10000], [task({ id: "t1", state })])));
    expect(model.services[0]?.servers).toEqual([]);
    expect(model.excluded).toEqual([{ appId: "/s", taskId: "t1", reason: `state ${state}` }]);
  });

  it("TASK_RUNNING is kept", () => {
    expect(addresses(run(snapshotOf(hostApp("/s", [10000], [task({ ports: [4242] })]))))).toEqual([
      "127.0.0.1:4242",
    ]);
  });

  it("--keep-unreachable keeps TASK_UNREACHABLE tasks", () => {
    const json = snapshotOf(hostApp("/s", [10000], [task({ state: "TASK_UNREACHABLE", ports: [4243] })]));
    expect(addresses(run(json, { keepUnreachable: true }))).toEqual(["127.0.0.1:4243"]);
  });

  it("--health-check: for apps with health checks only tasks Marathon reports alive are servers", () => {
    const check = [{ protocol: "HTTP", path: "/", portIndex: 0 }];
    const json = snapshotOf(
      hostApp(
        "/checked",
        [10000],
        [task({ id: "new", ports: [4001] }), task({ id: "ok", ports: [4002], alive: [true] })],
        { healthChecks: check },
      ),
      hostApp("/unchecked", [10001], [task({ id: "plain", ports: [4003] })]),
    );
    expect(run(json).services.map((s) => s.servers.length)).toEqual([2, 1]);
    const strict = run(json, { healthCheck: true });
    expect(strict.services.map((s) => s.servers.map((x) => x.taskId))).toEqual([["ok"], ["plain"]]);
    expect(strict.excluded).toEqual([
      { appId: "/checked", taskId: "new", reason: "no Marathon health result yet (--health-check)" },
    ]);
  });

  it("--ignore-path-without-vhost: a PATH without a VHOST routes nothing, as in marathon-lb", () => {
    const json = snapshotOf(hostApp("/p", [10000], [task()], { labels: { HAPROXY_0_PATH: "/api" } }));
    expect(run(json).services[0]?.paths).toEqual(["/api"]);
    const model = run(json, { ignorePathWithoutVhost: true });
    expect(model.services[0]).toMatchObject({ paths: [], mode: "tcp" });
    expect(model.warnings).toContain(
      "app /p port index 0: PATH ignored because it has no VHOST (--ignore-path-without-vhost)",
    );
  });

  it("TASK_LOST is covered by the same policy as TASK_UNREACHABLE", () => {
    const json = snapshotOf(hostApp("/s", [10000], [task({ id: "t1", state: "TASK_LOST", ports: [4244] })]));
    expect(run(json).excluded).toEqual([{ appId: "/s", taskId: "t1", reason: "state TASK_LOST" }]);
    expect(addresses(run(json, { keepUnreachable: true }))).toEqual(["127.0.0.1:4244"]);
  });

  it("a task without a state but with startedAt (Marathon < 1.3) counts as running", () => {
    const t = { id: "old", host: "h1", ports: [5000], startedAt: "2015-01-01T00:00:00Z" };
    expect(addresses(run(snapshotOf(hostApp("/s", [10000], [t]))))).toEqual(["h1:5000"]);
  });

  const check = {
    protocol: "HTTP",
    path: "/health",
    portIndex: 0,
    intervalSeconds: 5,
    timeoutSeconds: 2,
    maxConsecutiveFailures: 3,
  };

  it("health results present and none alive: excluded", () => {
    const json = snapshotOf(
      hostApp("/h", [10000], [task({ id: "sick", alive: [false, false] })], { healthChecks: [check] }),
    );
    const model = run(json);
    expect(model.services[0]?.servers).toEqual([]);
    expect(model.excluded[0]).toMatchObject({ taskId: "sick", reason: "Marathon health checks failing" });
  });

  it("one alive result is enough to stay", () => {
    const json = snapshotOf(
      hostApp("/h", [10000], [task({ ports: [6000], alive: [false, true] })], { healthChecks: [check] }),
    );
    expect(addresses(run(json))).toEqual(["127.0.0.1:6000"]);
  });

  it("health checks defined but no results (new task, or after a leader failover): kept, HAProxy decides", () => {
    const tasks = [task({ ports: [6001] }), task({ ports: [6002] })];
    const model = run(snapshotOf(hostApp("/h", [10000], tasks, { healthChecks: [check] })));
    expect(addresses(model)).toEqual(["127.0.0.1:6001", "127.0.0.1:6002"]);
    expect(model.services[0]?.healthCheck).toMatchObject({ kind: "http", path: "/health" });
  });

  it("tasks without a usable address are excluded with the reason", () => {
    const tasks = [
      task({ id: "nohost", host: "" }),
      task({ id: "noport", ports: [] }),
      task({ id: "evil", host: "a b\nserver x" }),
    ];
    const model = run(snapshotOf(hostApp("/a", [10000], tasks)));
    expect(model.services[0]?.servers).toEqual([]);
    expect(model.excluded.map((e) => [e.taskId, e.reason])).toEqual([
      ["evil", 'invalid host "a b\\nserver x"'],
      ["nohost", "no host"],
      ["noport", "no host port for port index 0"],
    ]);
  });
});

describe("groups and labels", () => {
  const app = (id: string, labels: Record<string, string>, port = 10000) =>
    hostApp(id, [port, port + 1], [task({ ports: [30000, 30001] })], { labels });

  it("--group keeps apps whose HAPROXY_GROUP matches; per-port groups override", () => {
    const json = snapshotOf(
      app("/ext", { HAPROXY_GROUP: "external" }, 10000),
      app("/int", { HAPROXY_GROUP: "internal,other" }, 11000),
      app("/none", {}, 12000),
      app("/hybrid", { HAPROXY_GROUP: "internal", HAPROXY_1_GROUP: "external" }, 13000),
    );
    expect(run(json, { groups: ["external"] }).services.map((s) => s.name)).toEqual([
      "ext_10000",
      "ext_10001",
      "hybrid_13001",
    ]);
    expect(run(json, { groups: ["other"] }).services.map((s) => s.name)).toEqual(["int_11000", "int_11001"]);
    expect(run(json, { groups: ["*"] }).services).toHaveLength(8);
    expect(run(json).services).toHaveLength(8);
  });

  it("HAPROXY_{n}_ENABLED=false hides that port only", () => {
    const model = run(snapshotOf(app("/e", { HAPROXY_0_ENABLED: "false" })));
    expect(model.services.map((s) => s.name)).toEqual(["e_10001"]);
  });

  it("MODE, PORT, BIND_ADDR, BALANCE, VHOST, PATH, BACKEND_WEIGHT", () => {
    const labels = {
      HAPROXY_0_MODE: "http",
      HAPROXY_0_PORT: "8088",
      HAPROXY_0_BIND_ADDR: "127.0.0.2",
      HAPROXY_0_BALANCE: "leastconn",
      HAPROXY_1_VHOST: "Shop.Example.com, api.example.com",
      HAPROXY_1_PATH: "/v1 /v2",
      HAPROXY_1_BACKEND_WEIGHT: "5",
    };
    const [first, second] = run(snapshotOf(app("/l", labels))).services;
    expect(first).toMatchObject({
      mode: "http",
      bindPort: 8088,
      bindAddress: "127.0.0.2",
      balance: "leastconn",
      name: "l_10000",
    });
    expect(second).toMatchObject({
      mode: "http",
      vhosts: ["shop.example.com", "api.example.com"],
      paths: ["/v1", "/v2"],
      backendWeight: 5,
      balance: "roundrobin",
    });
  });

  it("mode: tcp by default, http for a VHOST or a plain HTTP health check, tcp for HTTPS checks; MODE wins", () => {
    const checks = (protocol: string) => ({ healthChecks: [{ protocol, portIndex: 0 }] });
    const mode = (extra: Record<string, unknown>) =>
      run(snapshotOf(hostApp("/m", [10000], [task()], extra))).services[0]?.mode;
    expect(mode({})).toBe("tcp");
    expect(mode(checks("HTTP"))).toBe("http");
    expect(mode(checks("MESOS_HTTP"))).toBe("http");
    expect(mode(checks("HTTPS"))).toBe("tcp");
    expect(mode(checks("TCP"))).toBe("tcp");
    expect(mode({ labels: { HAPROXY_0_VHOST: "a.example" } })).toBe("http");
    expect(mode({ ...checks("HTTP"), labels: { HAPROXY_0_MODE: "tcp" } })).toBe("tcp");
  });

  it("VHOST with MODE tcp: routing dropped with a warning", () => {
    const model = run(snapshotOf(app("/v", { HAPROXY_0_VHOST: "a.example", HAPROXY_0_MODE: "tcp" })));
    expect(model.services[0]).toMatchObject({ mode: "tcp", vhosts: [] });
    expect(model.warnings.join("\n")).toContain("VHOST/PATH ignored because MODE is tcp");
  });

  it("health checks translate interval, timeout, failures, path and TLS", () => {
    const hc = {
      protocol: "MESOS_HTTPS",
      path: "/ping?x=1",
      portIndex: 0,
      intervalSeconds: 7,
      timeoutSeconds: 3,
      maxConsecutiveFailures: 4,
    };
    const model = run(snapshotOf(hostApp("/hc", [10000], [task()], { healthChecks: [hc] })));
    expect(model.services[0]?.healthCheck).toEqual({
      kind: "http",
      tls: true,
      path: "/ping?x=1",
      intervalSeconds: 7,
      timeoutSeconds: 3,
      fall: 4,
    });
  });

  it("COMMAND checks are not translated (plain connect check)", () => {
    const model = run(
      snapshotOf(
        hostApp("/c", [10000], [task()], {
          healthChecks: [{ protocol: "COMMAND", command: { value: "true" } }],
        }),
      ),
    );
    expect(model.services[0]?.healthCheck).toBeUndefined();
  });

  it.each([
    ["HAPROXY_0_VHOST", "a.example\n  server evil 6.6.6.6:80", "contains a line break"],
    ["HAPROXY_0_VHOST", "a\u00a0example", "contains non-ASCII characters"],
    ["HAPROXY_0_VHOST", "a.example\u0007", "contains a control character"],
    ["HAPROXY_0_VHOST", "a example", "invalid host name"],
    ["HAPROXY_0_PATH", "/x#comment", "invalid path"],
    ["HAPROXY_0_MODE", "udp", "is not tcp or http"],
    ["HAPROXY_0_PORT", "70000", "is not a port number"],
    ["HAPROXY_0_BIND_ADDR", "0.0.0.0 ssl crt /x", "is not an IP address"],
    ["HAPROXY_0_BALANCE", "roundrobin\nserver x", "contains a line break"],
    ["HAPROXY_0_BALANCE", "magic", "is not a valid balance"],
    ["HAPROXY_0_BACKEND_WEIGHT", "heavy", "is not an integer"],
    ["HAPROXY_0_ENABLED", "maybe", "is not true or false"],
    ["HAPROXY_0_GROUP", "ext ernal", "invalid group name"],
  ])("a bad %s (%j) drops that port with a warning; other apps are untouched", (name, value, reason) => {
    const json = snapshotOf(app("/bad", { [name]: value }), app("/good", {}, 11000));
    const model = run(json);
    expect(model.services.map((s) => s.name)).toEqual(["bad_10001", "good_11000", "good_11001"]);
    expect(model.warnings).toHaveLength(1);
    expect(model.warnings[0]).toContain(`app /bad port index 0 skipped: ${name} ${JSON.stringify(value)}`);
    expect(model.warnings[0]).toContain(reason);
    expect(model.dropped).toEqual([
      { appId: "/bad", portIndex: 0, reason: model.warnings[0]?.split("skipped: ")[1] },
    ]);
  });

  it("an app id that is not Marathon's shape (it would reach the config) drops the app", () => {
    const model = run(
      snapshotOf(
        hostApp("/ok", [10000], [task()]),
        hostApp("/evil\n  server x 1.2.3.4:1", [11000], [task()]),
      ),
    );
    expect(model.services.map((s) => s.appId)).toEqual(["/ok"]);
    expect(model.warnings).toEqual([
      'app "/evil\\n  server x 1.2.3.4:1" skipped: not a valid Marathon app id',
    ]);
  });

  it("a bad HAPROXY_GROUP drops the whole app", () => {
    const model = run(snapshotOf(app("/bad", { HAPROXY_GROUP: "a\nb" }), app("/good", {}, 11000)));
    expect(model.services.map((s) => s.appId)).toEqual(["/good", "/good"]);
    expect(model.warnings).toEqual(['app /bad skipped: HAPROXY_GROUP "a\\nb" contains a line break']);
    expect(model.dropped).toEqual([
      { appId: "/bad", portIndex: null, reason: 'HAPROXY_GROUP "a\\nb" contains a line break' },
    ]);
  });

  it("a health-check path that could break the config drops that port", () => {
    const hc = { protocol: "HTTP", path: "/ok\n  server x 1.2.3.4:1", portIndex: 0 };
    const model = run(snapshotOf(hostApp("/hp", [10000], [task()], { healthChecks: [hc] })));
    expect(model.services).toEqual([]);
    expect(model.warnings[0]).toContain(
      'health check path "/ok\\n  server x 1.2.3.4:1" contains a line break',
    );
  });

  it("every marathon-lb label is implemented or refused: none is only reported", () => {
    expect(labelTable.filter((e) => e.support === "ignored")).toEqual([]);
  });
});

describe("bind conflicts", () => {
  const one = (id: string, port: number, labels: Record<string, string> = {}) =>
    hostApp(id, [port], [task()], { labels });

  it("two services on the same address:port: the first by app id keeps it", () => {
    const model = run(snapshotOf(one("/b", 10000), one("/a", 10000)));
    expect(model.services.map((s) => s.appId)).toEqual(["/a"]);
    expect(model.warnings).toEqual([
      "app /b port index 0 skipped: *:10000 is already bound by app /a port index 0",
    ]);
  });

  it("a wildcard bind conflicts with a specific address on the same port; distinct addresses do not", () => {
    const model = run(
      snapshotOf(
        one("/a", 10000, { HAPROXY_0_BIND_ADDR: "127.0.0.1" }),
        one("/b", 10000, { HAPROXY_0_BIND_ADDR: "127.0.0.2" }),
        one("/c", 10000),
      ),
    );
    expect(model.services.map((s) => s.appId)).toEqual(["/a", "/b"]);
    expect(model.warnings[0]).toContain("app /c port index 0 skipped");
  });

  it("a service on the stats port is refused", () => {
    const model = run(snapshotOf(one("/stats-thief", 9090, { HAPROXY_0_BIND_ADDR: "127.0.0.1" })));
    expect(model.services).toEqual([]);
    expect(model.warnings[0]).toContain("already bound by the stats listener");
  });

  it("a service on the shared HTTP port is refused when vhosts are routed", () => {
    const model = run(snapshotOf(one("/a", 10000, { HAPROXY_0_VHOST: "a.example" }), one("/b", 80)));
    expect(model.services.map((s) => s.appId)).toEqual(["/a"]);
    expect(model.warnings[0]).toContain("already bound by the shared HTTP frontend");
  });

  it("port 80 is free for a service when nothing is routed by vhost", () => {
    expect(run(snapshotOf(one("/b", 80))).services).toHaveLength(1);
  });
});

describe("determinism", () => {
  it("the same state in any order gives the same model", () => {
    const tasks = [
      task({ host: "10.0.0.9", ports: [1] }),
      task({ host: "10.0.0.1", ports: [2] }),
      task({ host: "10.0.0.1", ports: [1] }),
    ];
    const apps = [
      hostApp("/z", [10002], tasks),
      hostApp("/a", [10001], [...tasks].reverse()),
      hostApp("/m/x", [10003], tasks),
    ];
    const a = run(snapshotOf(...apps));
    const b = run(snapshotOf(...[...apps].reverse()));
    expect(b).toEqual(a);
    expect(a.services.map((s) => s.appId)).toEqual(["/a", "/m/x", "/z"]);
    expect(addresses(a)).toEqual(["10.0.0.1:1", "10.0.0.1:2", "10.0.0.9:1"]);
  });
});

describe("fail closed and nothing ignored silently", () => {
  const app = (id: string, labels: Record<string, string>, port = 10000) =>
    hostApp(id, [port, port + 1], [task({ ports: [30000, 30001] })], { labels });

  it.each([
    ["HAPROXY_0_HTTP_FRONTEND_ACL", "  acl host_x hdr(host) -i x"],
    ["HAPROXY_0_MAP_HTTP_FRONTEND_ACL", "  use_backend x"],
  ])("an app labelled %s is left out entirely, with the reason", (name, value) => {
    const model = run(snapshotOf(app("/guarded", { [name]: value }), app("/open", {}, 11000)));
    expect(model.services.map((s) => s.appId)).toEqual(["/open", "/open"]);
    const reason = `${name} is not implemented by mhc; the app is left out rather than served without it`;
    expect(model.dropped).toEqual([{ appId: "/guarded", portIndex: null, reason }]);
    expect(model.warnings).toContain(`app /guarded skipped: ${reason}`);
    // The value (a password, for AUTH) never reaches a warning.
    expect(model.warnings.join("\n")).not.toContain(value);
  });

  it.each([
    ["HAPROXY_0_AUTH", "realm:user:password"],
    ["HAPROXY_1_REDIRECT_TO_HTTPS", "true"],
    ["HAPROXY_0_USE_HSTS", "true"],
  ])("a port labelled %s in tcp mode is left out, with the reason (it cannot apply there)", (name, value) => {
    const model = run(snapshotOf(app("/guarded", { [name]: value }), app("/open", {}, 11000)));
    const index = Number(name.split("_")[1]);
    expect(model.services.map((s) => `${s.appId} ${s.portIndex}`)).toEqual([
      `/guarded ${1 - index}`,
      "/open 0",
      "/open 1",
    ]);
    const reason = `${name} needs http mode (set HAPROXY_${index}_MODE=http or a VHOST); the port is left out rather than served without it`;
    expect(model.dropped).toEqual([{ appId: "/guarded", portIndex: index, reason }]);
    expect(model.warnings.join("\n")).not.toContain("password");
  });

  it("an invalid AUTH value is reported without quoting it (it holds a password)", () => {
    const model = run(
      snapshotOf(app("/guarded", { HAPROXY_0_AUTH: "realm:us er:hunter2 x", HAPROXY_0_MODE: "http" })),
    );
    expect(model.dropped).toEqual([
      {
        appId: "/guarded",
        portIndex: 0,
        reason: "HAPROXY_0_AUTH has a user name other than letters, digits, . _ @ -",
      },
    ]);
    expect(model.warnings.join("\n")).not.toContain("hunter2");
  });

  it("a plaintext AUTH password is warned about, without quoting it", () => {
    const model = run(
      snapshotOf(app("/guarded", { HAPROXY_0_AUTH: "realm:user:hunter2", HAPROXY_0_MODE: "http" })),
    );
    expect(model.services[0]?.auth).toEqual({
      realm: "realm",
      user: "user",
      password: "hunter2",
      hashed: false,
    });
    expect(model.warnings).toEqual([
      "app /guarded port index 0: HAPROXY_0_AUTH has a plaintext password, which is committed to git with the config; use a crypt(3) hash (mkpasswd -m sha-512)",
    ]);
  });

  it("an app with a refusing label that --group leaves out is not reported", () => {
    const model = run(
      snapshotOf(app("/guarded", { HAPROXY_GROUP: "internal", HAPROXY_0_HTTP_FRONTEND_ACL: "x" })),
      {
        groups: ["external"],
      },
    );
    expect(model.dropped).toEqual([]);
  });

  it("app-level and per-port labels mhc does not know are reported; the app renders", () => {
    const model = run(
      snapshotOf(app("/a", { HAPROXY_0_TYPO: "x", HAPROXY_MYSTERY: "y" }), app("/b", {}, 11000)),
    );
    expect(model.services).toHaveLength(4);
    expect(model.warnings).toEqual([
      "label HAPROXY_MYSTERY is not known to mhc and was ignored (1 app)",
      "label HAPROXY_{n}_TYPO is not known to mhc and was ignored (1 app)",
    ]);
  });
});

describe("IP-per-task apps without service ports", () => {
  const ippt = (id: string, containerPorts: number[] = [8080]) => ({
    id,
    networks: [{ mode: "container", name: "dcos" }],
    container: { portMappings: containerPorts.map((containerPort) => ({ containerPort })) },
    labels: { HAPROXY_0_VHOST: `${id.slice(1)}.example.com` },
    tasks: [task({ ports: [], ipAddresses: ["9.0.0.7"] })],
  });
  const ports = (model: ReturnType<typeof run>) =>
    Object.fromEntries(model.services.map((s) => [`${s.appId}#${s.portIndex}`, s.servicePort]));
  const published = (model: ReturnType<typeof run>) =>
    new Map(model.services.map((s) => [`*:${s.bindPort}`, s.appId]));

  it("get service ports from --min/max-serv-port-ip-per-task, deterministically", () => {
    const apps = snapshotOf(ippt("/a", [8080, 8081]), ippt("/b"), ippt("/c"));
    const first = ports(run(apps));
    expect(Object.keys(first)).toEqual(["/a#0", "/a#1", "/b#0", "/c#0"]);
    for (const port of Object.values(first)) expect(port).toBeGreaterThanOrEqual(10050);
    for (const port of Object.values(first)) expect(port).toBeLessThanOrEqual(10100);
    expect(new Set(Object.values(first)).size).toBe(4);
    expect(ports(run(apps))).toEqual(first);
    expect(ports(run(apps, { ipPerTaskPorts: { min: 20000, max: 20003 } }))).toSatisfy(
      (p: Record<string, number>) => Object.values(p).every((n) => n >= 20000 && n <= 20003),
    );
  });

  it("adding an app does not renumber the others (ports held in the published config stay)", () => {
    // A range of 3 ports makes clashes certain: without the published binds a newcomer could win.
    const range = { ipPerTaskPorts: { min: 10050, max: 10052 } };
    const ids = ["/m", "/n"];
    const before = run(snapshotOf(...ids.map((id) => ippt(id))), range);
    for (const newcomer of ["/a", "/b", "/c", "/z"]) {
      const apps = [...ids, newcomer].sort().map((id) => ippt(id));
      const after = run(snapshotOf(...apps), { ...range, incumbents: published(before) });
      for (const id of ids) expect(ports(after)[`${id}#0`]).toBe(ports(before)[`${id}#0`]);
      expect(ports(after)[`${newcomer}#0`]).toBeGreaterThanOrEqual(10050);
    }
  });

  it("a range with no port left drops that app's port with the reason", () => {
    const model = run(snapshotOf(ippt("/a"), ippt("/b")), { ipPerTaskPorts: { min: 10050, max: 10050 } });
    expect(model.services.map((s) => s.appId)).toEqual(["/a"]);
    expect(model.dropped).toEqual([
      {
        appId: "/b",
        portIndex: 0,
        reason:
          "no free service port for an IP-per-task app in 10050-10050 (--min/max-serv-port-ip-per-task)",
      },
    ]);
  });
});

describe("--group", () => {
  const grouped = (id: string, group: string, port: number) =>
    hostApp(id, [port], [task()], { labels: { HAPROXY_GROUP: group } });

  it("--group that matches no app warns, listing the groups that exist", () => {
    const model = run(snapshotOf(grouped("/a", "external", 10000), grouped("/b", "internal,edge", 11000)), {
      groups: ["extrenal"],
    });
    expect(model.services).toEqual([]);
    expect(model.warnings).toEqual([
      "--group extrenal matched no app; groups in Marathon: edge, external, internal",
    ]);
  });

  it("an app --group leaves out is not reported for a wrong task type, nor are its tasks excluded", () => {
    const broken = hostApp("/other", [10000], [{ host: 5 }], { labels: { HAPROXY_GROUP: "internal" } });
    const model = run(snapshotOf(broken, grouped("/a", "external", 11000)), { groups: ["external"] });
    expect(model.dropped).toEqual([]);
    expect(model.services.map((s) => s.appId)).toEqual(["/a"]);
  });

  it("--group that matches no app lists at most 20 groups, then a count", () => {
    const apps = Array.from({ length: 25 }, (_, i) =>
      grouped(`/g${i}`, `group-${String(i).padStart(2, "0")}`, 10000 + i),
    );
    const [warning] = run(snapshotOf(...apps), { groups: ["nope"] }).warnings;
    expect(warning).toMatch(/groups in Marathon: group-00, .*, group-19 and 5 more$/);
  });

  it("an app with a wrong JSON type is reported only when --group could select it", () => {
    const broken = (id: string, group: string) =>
      hostApp(id, [10000], [task()], { labels: { HAPROXY_GROUP: group }, healthChecks: {} });
    const model = run(snapshotOf(broken("/other-lb", "internal"), broken("/ours", "external")), {
      groups: ["external"],
    });
    expect(model.dropped.map((d) => d.appId)).toEqual(["/ours"]);
  });

  it("--group with no group labels in Marathon says so", () => {
    const model = run(snapshotOf(hostApp("/a", [10000], [task()])), { groups: ["external"] });
    expect(model.warnings).toEqual(["--group external matched no app; no app has a HAPROXY_GROUP label"]);
  });

  it("--group that matches an app whose ports are all disabled does not warn", () => {
    const model = run(
      snapshotOf(
        hostApp("/a", [10000], [task()], { labels: { HAPROXY_GROUP: "x", HAPROXY_0_ENABLED: "false" } }),
      ),
      { groups: ["x"] },
    );
    expect(model.warnings).toEqual([]);
  });
});

describe("incumbents", () => {
  it("an existing service keeps its port; the newcomer is left out with the reason in dropped", () => {
    const json = snapshotOf(
      hostApp("/a-newcomer", [10000], [task()]),
      hostApp("/z-incumbent", [10000], [task()]),
    );
    const model = run(json, { incumbents: new Map([["*:10000", "/z-incumbent"]]) });
    expect(model.services.map((s) => s.appId)).toEqual(["/z-incumbent"]);
    expect(model.dropped).toEqual([
      {
        appId: "/a-newcomer",
        portIndex: 0,
        reason:
          "*:10000 is already bound by app /z-incumbent port index 0, which holds it in the published config",
      },
    ]);
  });
});

describe("labels for a port the app does not have", () => {
  it("are reported, not ignored silently", () => {
    const model = run(
      snapshotOf(hostApp("/one", [10000], [task()], { labels: { HAPROXY_3_VHOST: "a.example" } })),
    );
    expect(model.services).toHaveLength(1);
    expect(model.warnings).toEqual(["app /one: HAPROXY_3_VHOST ignored: the app has no port index 3"]);
  });
});
