import { describe, expect, it } from "vitest";
import { emptyModel } from "../../src/core/published.ts";
import { commitBody, commitSubject, compareModels } from "../../src/core/summary.ts";
import { hosts, publishedModel, publishedService } from "../helpers/models.ts";

const apps = (n: number, prefix: string, servers = 1) =>
  Array.from({ length: n }, (_, i) =>
    publishedService(`/${prefix}/svc-${i}`, 20000 + i, hosts(servers, "10.1.0")),
  );

const web = publishedService("/shop/web", 10000, hosts(2));
const api = publishedService("/team-b/api", 10001, ["10.0.1.1"]);
const check = {
  kind: "http" as const,
  tls: false,
  path: "/health",
  intervalSeconds: 10,
  timeoutSeconds: 5,
  fall: 3,
};

describe("commitSubject", () => {
  it.each([
    ["first sync", emptyModel, publishedModel([web, api]), "haproxy: +2 apps /shop/web /team-b/api"],
    [
      "scale up",
      publishedModel([web]),
      publishedModel([publishedService("/shop/web", 10000, hosts(5))]),
      "haproxy: /shop/web +3 servers",
    ],
    [
      "scale down",
      publishedModel([web]),
      publishedModel([publishedService("/shop/web", 10000, hosts(1))]),
      "haproxy: /shop/web -1 server",
    ],
    [
      "one setting",
      publishedModel([web]),
      publishedModel([{ ...web, balance: "leastconn" }]),
      "haproxy: /shop/web balance changed",
    ],
    [
      "several settings",
      publishedModel([web]),
      publishedModel([{ ...web, balance: "leastconn", healthCheck: check }]),
      "haproxy: /shop/web settings changed",
    ],
    ["app deleted", publishedModel([web, api]), publishedModel([web]), "haproxy: -1 app /team-b/api"],
    [
      "app dropped, not deleted",
      publishedModel([web, api]),
      publishedModel([web], [{ appId: "/team-b/api", portIndex: 0, reason: "bad label" }]),
      "haproxy: dropped /team-b/api",
    ],
    [
      "restored",
      publishedModel([web], [{ appId: "/team-b/api", portIndex: 0, reason: "bad label" }]),
      publishedModel([web, api]),
      "haproxy: restored /team-b/api",
    ],
    [
      "a new app dropped before it was ever published",
      publishedModel([web]),
      publishedModel(
        [publishedService("/shop/web", 10000, hosts(3))],
        [{ appId: "/new", portIndex: null, reason: "bad group" }],
      ),
      "haproxy: /shop/web +1 server, dropped /new",
    ],
    [
      "biggest by name, the rest as counts",
      publishedModel([web, ...apps(2, "old")]),
      publishedModel([publishedService("/shop/web", 10000, hosts(5)), ...apps(48, "new")]),
      "haproxy: /shop/web +3 servers, -2 apps /old/svc-0 /old/svc-1, +48 apps",
    ],
    ["10,000 new apps", emptyModel, publishedModel(apps(10_000, "team", 10)), "haproxy: +10000 apps"],
    [
      "many changed apps",
      publishedModel(apps(300, "team", 2)),
      publishedModel(apps(300, "team", 3)),
      "haproxy: /team/svc-0 +1 server, /team/svc-1 +1 server, 298 more changed",
    ],
    [
      "the biggest change named shortly when its detail does not fit",
      publishedModel([
        publishedService("/shop/web", 10000, hosts(2), { healthCheck: check }),
        publishedService("/team-b/api", 10001, ["10.0.1.1"]),
        publishedService("/b", 10003, hosts(2)),
      ]),
      publishedModel(
        [
          publishedService("/shop/web", 10000, ["10.0.0.1", "10.0.0.3", "10.0.0.4"], {
            healthCheck: { ...check, path: "/ready" },
            vhosts: ["api33.example.com"],
          }),
          publishedService("/new", 10002, ["10.0.2.1"]),
        ],
        [{ appId: "/b", portIndex: 0, reason: "bad label" }],
      ),
      "haproxy: /shop/web changed, dropped /b, +1 app /new, -1 app /team-b/api",
    ],
    [
      "nothing a model shows (the head changed)",
      publishedModel([web]),
      publishedModel([web]),
      "haproxy: config text changed",
    ],
  ])("%s", (_, before, after, subject) => {
    const text = commitSubject(compareModels(before, after));
    expect(text).toBe(subject);
    expect(text.length).toBeLessThanOrEqual(72);
  });

  it("stays within 72 characters for every mix of changes", () => {
    const long = (n: number) => `/a-very-long-group-name/and-a-long-app-name-${n}`;
    const before = publishedModel([
      ...Array.from({ length: 20 }, (_, i) => publishedService(long(i), 30000 + i, hosts(3))),
      ...apps(30, "gone"),
    ]);
    const after = publishedModel(
      [
        ...Array.from({ length: 20 }, (_, i) => publishedService(long(i), 30000 + i, hosts(4 + i))),
        ...apps(40, "new"),
      ],
      [{ appId: "/gone/svc-1", portIndex: 0, reason: "bad label" }],
    );
    const subject = commitSubject(compareModels(before, after));
    expect(subject.length).toBeLessThanOrEqual(72);
    expect(subject).toBe("haproxy: dropped /gone/svc-1, 20 apps changed, +40 apps, -29 apps");
  });
});

describe("commitBody", () => {
  it.each([
    [
      "settings in words",
      publishedModel([{ ...web, healthCheck: check, vhosts: ["a.example.com"] }]),
      publishedModel([
        {
          ...web,
          mode: "http",
          healthCheck: { ...check, path: "/ready", intervalSeconds: 5 },
          vhosts: ["api33.example.com"],
        },
      ]),
      [
        "backend shop_web_10000 (app /shop/web)",
        "    mode tcp → http",
        "    health check GET /health → GET /ready",
        "    check interval 10s → 5s",
        "    vhost + api33.example.com",
        "    vhost - a.example.com",
        "",
        "Servers: 2 → 2 (+0 -0)",
      ],
    ],
    [
      "dropped vs deleted",
      publishedModel([web, api, publishedService("/gone", 10002, ["10.0.2.1"])]),
      publishedModel(
        [web],
        [
          {
            appId: "/team-b/api",
            portIndex: 0,
            reason: 'HAPROXY_0_BALANCE "random(0)" is not a valid balance',
          },
        ],
      ),
      [
        "- backend gone_10002 (app /gone, 1 server): deleted",
        "    - 10.0.2.1:31000",
        "- backend team-b_api_10001 (app /team-b/api, 1 server): dropped (see below)",
        "    - 10.0.1.1:31000",
        "",
        'dropped /team-b/api: HAPROXY_0_BALANCE "random(0)" is not a valid balance',
        "",
        "Servers: 4 → 2 (+0 -2)",
        "Dropped: 1 app port",
      ],
    ],
    [
      "exclusions listed when they start or end, counted always",
      publishedModel(
        [web],
        [],
        [
          { appId: "/shop/web", taskId: "t1", reason: "state TASK_STAGING" },
          { appId: "/shop/web", taskId: "t2", reason: "Marathon health checks failing" },
        ],
      ),
      publishedModel(
        [publishedService("/shop/web", 10000, hosts(3))],
        [],
        [
          { appId: "/shop/web", taskId: "t2", reason: "Marathon health checks failing" },
          { appId: "/shop/web", taskId: "t3", reason: "state TASK_STAGING" },
        ],
      ),
      [
        "backend shop_web_10000 (app /shop/web)",
        "    + 10.0.0.3:31000",
        "",
        "Servers: 2 → 3 (+1 -0)",
        "Tasks not in the config: 2 (+1 -1)",
        "    + /shop/web t3: state TASK_STAGING",
        "    - /shop/web t1: was state TASK_STAGING",
      ],
    ],
    [
      "a task id with a line break is quoted: it cannot add a line to the message",
      publishedModel([web]),
      publishedModel(
        [web],
        [],
        [{ appId: "/shop/web", taskId: "t9\nGate-Overridden: forged", reason: "state TASK_STAGING" }],
      ),
      [
        "Servers: 2 → 2 (+0 -0)",
        "Tasks not in the config: 1 (+1 -0)",
        '    + /shop/web "t9\\nGate-Overridden: forged": state TASK_STAGING',
      ],
    ],
  ])("%s", (_, before, after, lines) => {
    expect(commitBody({ changes: compareModels(before, after) })).toBe(lines.join("\n"));
  });

  it("a gate overridden with --force is said first", () => {
    const body = commitBody({
      changes: compareModels(publishedModel([web]), publishedModel([])),
      overridden: [
        { gate: "max-drop", reason: "2 of 2 servers (100.0%) would disappear", detail: "2 of 2 servers" },
      ],
    });
    expect(body.split("\n")[0]).toBe(
      "Gate max-drop overridden with --force: 2 of 2 servers (100.0%) would disappear",
    );
  });

  it("is bounded: about 200 lines in all, then a count of every backend not listed", () => {
    const before = publishedModel(apps(400, "team", 2));
    const after = publishedModel(apps(400, "team", 3));
    const body = commitBody({ changes: compareModels(before, after) }).split("\n");
    expect(body.length).toBeLessThanOrEqual(205);
    expect(body).toContain("… and 301 more backends not listed: +301 -0 servers, 0 settings changed");
    expect(body.filter((l) => l.startsWith("    + ")).length + 301).toBe(400);
    expect(body).toContain("Servers: 800 → 1200 (+400 -0)");
  });

  it("lists 50 drops and 50 exclusions that start, then counts the rest", () => {
    const dropped = Array.from({ length: 60 }, (_, i) => ({
      appId: `/d/${i}`,
      portIndex: null,
      reason: "bad",
    }));
    const excluded = Array.from({ length: 60 }, (_, i) => ({
      appId: "/shop/web",
      taskId: `t${i}`,
      reason: "unhealthy",
    }));
    const body = commitBody({
      changes: compareModels(publishedModel([web]), publishedModel([web], dropped, excluded)),
    }).split("\n");
    expect(body.filter((l) => l.startsWith("dropped "))).toHaveLength(50);
    expect(body).toContain("    … and 10 more dropped or restored");
    expect(body.filter((l) => l.startsWith("    + /shop/web "))).toHaveLength(50);
    expect(body).toContain("    … and 10 more tasks left out");
    expect(body).toContain("Tasks not in the config: 60 (+60 -0)");
    expect(body).toContain("Dropped: 60 app ports");
  });

  it("stays about 200 lines when backends, drops and exclusions are all long at once", () => {
    const before = publishedModel(
      apps(400, "team", 2),
      [],
      hosts(60).map((h, i) => ({ appId: "/team/svc-0", taskId: `gone${i}`, reason: `unhealthy on ${h}` })),
    );
    const after = publishedModel(
      apps(400, "team", 3),
      Array.from({ length: 60 }, (_, i) => ({ appId: `/d/${i}`, portIndex: null, reason: "bad" })),
      Array.from({ length: 60 }, (_, i) => ({ appId: "/team/svc-1", taskId: `t${i}`, reason: "unhealthy" })),
    );
    const body = commitBody({ changes: compareModels(before, after) }).split("\n");
    expect(body.length).toBeLessThanOrEqual(215);
    expect(body.some((l) => /^… and \d+ more backends not listed: /.test(l))).toBe(true);
    expect(body).toContain("    … and 10 more dropped or restored");
    expect(body).toContain("    … and 10 more tasks left out");
    expect(body).toContain("    … and 10 more tasks back or gone");
  });

  it("cuts a huge backend with a count of the lines left out", () => {
    const body = commitBody({
      changes: compareModels(emptyModel, publishedModel(apps(1, "big", 1000))),
    }).split("\n");
    expect(body[0]).toBe("+ backend big_svc-0_20000 (app /big/svc-0, 1000 servers)");
    expect(body).toContain("    … and 804 more lines for big_svc-0_20000");
    expect(body.length).toBeLessThanOrEqual(205);
  });
});
