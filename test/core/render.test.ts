import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { hidePasswords, hidePatchPasswords, render } from "../../src/core/render.ts";
import { parseSnapshot, snapshotFromJson } from "../../src/core/snapshot.ts";
import { hostApp, httpHealthCheck, snapshotOf, task } from "../helpers/apps.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";

const renderJson = (json: unknown, options: Partial<RenderOptions> = {}) => {
  const opts = { ...defaultRenderOptions, ...options };
  return render(normalise(snapshotFromJson(json, "test"), opts), opts);
};

/** Every label and mode at once: the golden file a reviewer reads to see what mhc emits. */
const kitchenSink = snapshotOf(
  hostApp(
    "/shop/web",
    [10000],
    [task({ host: "10.0.0.2", ports: [31002] }), task({ host: "10.0.0.1", ports: [31001] })],
    {
      labels: { HAPROXY_GROUP: "external", HAPROXY_0_VHOST: "shop.example.com,*.shop.example.com" },
      healthChecks: [httpHealthCheck()],
    },
  ),
  hostApp("/shop/api", [10001], [task({ host: "10.0.0.3", ports: [31003] })], {
    labels: {
      HAPROXY_GROUP: "external",
      HAPROXY_0_VHOST: "shop.example.com",
      HAPROXY_0_PATH: "/api",
      HAPROXY_0_BALANCE: "leastconn",
    },
  }),
  hostApp(
    "/db",
    [5432],
    [
      task({ host: "db-1.internal", ports: [31432] }),
      task({ host: "10.0.0.4", ports: [31433], state: "TASK_KILLING" }),
    ],
    {
      labels: { HAPROXY_GROUP: "internal", HAPROXY_0_BIND_ADDR: "127.0.0.1", HAPROXY_0_PORT: "15432" },
      healthChecks: [
        { protocol: "TCP", portIndex: 0, intervalSeconds: 3, timeoutSeconds: 1, maxConsecutiveFailures: 2 },
      ],
    },
  ),
  hostApp("/secure", [10443], [task({ host: "10.0.0.5", ports: [31443] })], {
    healthChecks: [
      {
        protocol: "MESOS_HTTPS",
        path: "/",
        portIndex: 0,
        intervalSeconds: 30,
        timeoutSeconds: 10,
        maxConsecutiveFailures: 0,
      },
    ],
  }),
  hostApp("/v6", [10600], [task({ host: "::1", ports: [31600] })], { labels: { HAPROXY_0_MODE: "http" } }),
);

const goldenCases: [string, () => string][] = [
  ["kitchen-sink.cfg", () => renderJson(kitchenSink)],
  ["kitchen-sink-external.cfg", () => renderJson(kitchenSink, { groups: ["external"] })],
  ...[
    "marathon15-bridge-app.json",
    "app.json",
    "group.json",
    "tasks.json",
    "app_list.json",
    "real-100-apps.json",
  ].map((name): [string, () => string] => [
    name.replace(/\.json$/, ".cfg"),
    () =>
      render(
        normalise(parseSnapshot(readFileSync(`fixtures/${name}`, "utf8"), name), defaultRenderOptions),
        defaultRenderOptions,
      ),
  ]),
];

describe("golden configs", () => {
  it.each(goldenCases)("%s", async (name, make) => {
    await expect(make()).toMatchFileSnapshot(`golden/${name}`);
  });

  it.skipIf(!haproxyAvailable()).each(goldenCases)("%s passes haproxy -c", (_name, make) => {
    const dir = mkdtempSync(join(tmpdir(), "mhc-golden-"));
    const file = join(dir, "haproxy.cfg");
    writeFileSync(file, make());
    // haproxy -c exits non-zero (and execFileSync throws) on an invalid config.
    const output = execFileSync("haproxy", ["-c", "-f", file], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(output).toContain("Configuration file is valid");
  });
});

describe("plain services, written without filling templates", () => {
  // Services with every optional block set are rendered through the templates in either case.
  const variations = snapshotOf(
    hostApp("/plain/none", [10700], [task({ host: "10.0.1.1", ports: [31700] })]),
    hostApp("/plain/tcp-check", [10701], [task({ host: "10.0.1.2", ports: [31701] })], {
      healthChecks: [
        { protocol: "TCP", portIndex: 0, intervalSeconds: 7, timeoutSeconds: 3, maxConsecutiveFailures: 4 },
      ],
    }),
    hostApp("/plain/https-check-port", [10702], [task({ host: "10.0.1.3", ports: [31702] })], {
      healthChecks: [{ protocol: "HTTPS", path: "/ready", port: 8443, intervalSeconds: 5 }],
    }),
    hostApp(
      "/plain/check-port-index",
      [10703, 10704],
      [task({ host: "10.0.1.4", ports: [31703, 31704] }), task({ host: "fd00::4", ports: [31705, 31706] })],
      {
        labels: { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1", HAPROXY_0_MODE: "http" },
        healthChecks: [httpHealthCheck({ portIndex: 1 })],
      },
    ),
    hostApp(
      "/plain/unchecked-port-index",
      [10705, 10706],
      [task({ host: "10.0.1.5", ports: [31707, 31708] })],
      {
        labels: { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1" },
      },
    ),
    hostApp("/plain/tls-bind", [10707], [task({ host: "agent-7.internal", ports: [31709] })], {
      labels: {
        HAPROXY_0_VHOST: "tls.example.com",
        HAPROXY_0_SSL_CERT: "/etc/ssl/tls.pem",
        HAPROXY_0_BIND_OPTIONS: "ciphers ECDHE-RSA-AES128-GCM-SHA256",
        HAPROXY_0_BIND_ADDR: "::1",
        HAPROXY_0_PORT: "10708",
        HAPROXY_0_BALANCE: "leastconn",
      },
    }),
  );
  const cases: [string, unknown][] = [
    ["kitchen sink", kitchenSink],
    ["variations", variations],
    ...["marathon15-bridge-app.json", "app.json", "group.json", "tasks.json", "real-100-apps.json"].map(
      (name): [string, unknown] => [name, JSON.parse(readFileSync(`fixtures/${name}`, "utf8"))],
    ),
  ];

  it.each(cases)("%s: the same bytes as mhc's default templates give", (_name, json) => {
    const direct = renderJson(json);
    // Operator templates that are all mhc's defaults send every service through the templates.
    expect(direct).toBe(renderJson(json, { templates: {} }));
    expect(direct).toContain("\nbackend ");
  });

  it.each([1, 2, 3])(
    "random mixes of labels, checks and tasks (seed %i): the same bytes both ways",
    (seed) => {
      let state = seed;
      const random = () => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return state / 0x7fffffff;
      };
      const oneOf = <T>(choices: T[]) => choices[Math.floor(random() * choices.length)] as T;
      const labelChoices: Record<string, string[]> = {
        HAPROXY_0_VHOST: ["a.example.com", "*.example.com,b.example.com"],
        HAPROXY_0_MODE: ["http", "tcp"],
        HAPROXY_0_BALANCE: ["leastconn", "source"],
        HAPROXY_0_BIND_ADDR: ["127.0.0.1", "::1"],
        HAPROXY_0_SSL_CERT: ["/etc/ssl/site.pem"],
        HAPROXY_0_BIND_OPTIONS: ["ciphers ECDHE-RSA-AES128-GCM-SHA256"],
        HAPROXY_0_PATH: ["/api", "-i /x /y"],
        HAPROXY_0_STICKY: ["true"],
        HAPROXY_0_REDIRECT_TO_HTTPS: ["true"],
        HAPROXY_0_USE_HSTS: ["true"],
        HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: ["1"],
        HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: ["/p"],
        HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: ["/r"],
        HAPROXY_0_HTTP_BACKEND_REDIR: ["/home"],
        HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: ["10.0.0.0/8"],
        HAPROXY_0_PORT: ["20001"],
      };
      const apps = Array.from({ length: 200 }, (_, i) => {
        const labels: Record<string, string> = {};
        for (const [name, values] of Object.entries(labelChoices))
          if (random() < 0.15) labels[name] = oneOf(values);
        const tasks = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, t) =>
          task({
            host: oneOf(["10.0.0.1", "agent-2.internal", "fd00::3"]),
            ports: [31000 + i * 10 + t, 32000 + i * 10 + t],
            state: oneOf(["TASK_RUNNING", "TASK_RUNNING", "TASK_KILLING"]),
          }),
        );
        const checks =
          random() < 0.5
            ? [
                {
                  protocol: oneOf(["HTTP", "HTTPS", "TCP", "MESOS_HTTP", "COMMAND"]),
                  path: "/health",
                  portIndex: oneOf([0, 1]),
                  ...(random() < 0.2 ? { port: 8080 } : {}),
                  intervalSeconds: oneOf([5, 30]),
                  timeoutSeconds: 3,
                  maxConsecutiveFailures: oneOf([0, 3]),
                },
              ]
            : [];
        return hostApp(`/mix/app-${i}`, [12000 + i * 2, 12001 + i * 2], tasks, {
          labels,
          healthChecks: checks,
        });
      });
      const json = snapshotOf(...apps);
      expect(renderJson(json)).toBe(renderJson(json, { templates: {} }));
    },
  );
});

describe("render", () => {
  it("is byte-identical for the same snapshot and has no timestamps", () => {
    const a = renderJson(kitchenSink);
    expect(renderJson(JSON.parse(JSON.stringify(kitchenSink)))).toBe(a);
    expect(a).not.toMatch(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/);
  });

  it("vhost routes are ordered by BACKEND_WEIGHT, path routes before plain vhost routes", () => {
    const apps = [0, 1, 2, 3].map((weight) =>
      hostApp(`/w${weight}`, [10000 + weight], [task()], {
        labels: { HAPROXY_0_VHOST: "same.example", HAPROXY_0_BACKEND_WEIGHT: String(weight) },
      }),
    );
    const pathApp = hostApp("/p", [10010], [task()], {
      labels: { HAPROXY_0_VHOST: "same.example", HAPROXY_0_PATH: "/p" },
    });
    const text = renderJson(snapshotOf(...apps, pathApp));
    const order = [...text.matchAll(/use_backend (\S+) if (host|path)_/g)].map((m) => m[1]);
    // Equal weights keep app-id order; a path route (weight 0 counts as 1) outranks a plain vhost route of weight 0.
    expect(order).toEqual(["w3_10003", "w2_10002", "p_10010", "w1_10001", "w0_10000"]);
  });

  it("--head replaces global/defaults; --stats-port 0 drops the stats listener", () => {
    const text = renderJson(kitchenSink, {
      head: "global\n  maxconn 10\ndefaults\n  mode tcp\n",
      statsPort: 0,
    });
    expect(text).toContain("global\n  maxconn 10\ndefaults\n  mode tcp\n");
    expect(text).not.toContain("hard-stop-after");
    expect(text).not.toContain("listen stats");
  });

  it("no shared HTTP frontend when nothing is routed by vhost or path", () => {
    expect(renderJson(snapshotOf(hostApp("/t", [10000], [task()])))).not.toContain("frontend http_in");
  });

  it("a backend with no eligible servers keeps its frontend and an empty backend", () => {
    const text = renderJson(snapshotOf(hostApp("/empty", [10000], [task({ state: "TASK_STAGING" })])));
    expect(text).toContain("frontend empty_10000\n  bind *:10000");
    expect(text).toMatch(
      /backend empty_10000\n {2}description app \/empty service port 10000\n {2}mode tcp\n {2}balance roundrobin\n\n?$/,
    );
  });
});

/** Writes a render and runs real `haproxy -c` on it; returns HAProxy's output (throws when rejected). */
function haproxyCheck(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "mhc-check-")), "haproxy.cfg");
  writeFileSync(file, text);
  return execFileSync("haproxy", ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe.skipIf(!haproxyAvailable())(
  "values HAProxy 2.6 would reject drop only their port (never commits a config HAProxy rejects)",
  () => {
    const good = hostApp("/good", [11000], [task({ host: "10.0.0.9", ports: [31000] })]);
    const check = (hc: Record<string, unknown>) => ({
      healthChecks: [{ protocol: "HTTP", path: "/", portIndex: 0, ...hc }],
    });
    it.each([
      [
        "HAPROXY_0_BALANCE random(0)",
        { labels: { HAPROXY_0_BALANCE: "random(0)" } },
        'HAPROXY_0_BALANCE "random(0)" is not a valid balance',
      ],
      [
        "HAPROXY_0_BALANCE uri len 0",
        { labels: { HAPROXY_0_BALANCE: "uri len 0" } },
        'HAPROXY_0_BALANCE "uri len 0" is not a valid balance',
      ],
      [
        "BIND_ADDR with a zone id",
        { labels: { HAPROXY_0_BIND_ADDR: "fe80::1%eth0" } },
        'HAPROXY_0_BIND_ADDR "fe80::1%eth0" has a zone id, which HAProxy cannot bind',
      ],
      [
        "intervalSeconds 3000000",
        check({ intervalSeconds: 3000000 }),
        "health check intervalSeconds 3000000 is above HAProxy's limit (2147483)",
      ],
      [
        "intervalSeconds 1e300",
        check({ intervalSeconds: 1e300 }),
        "health check intervalSeconds 1e+300 is above HAProxy's limit (2147483)",
      ],
      [
        "timeoutSeconds 1e8",
        check({ timeoutSeconds: 1e8 }),
        "health check timeoutSeconds 100000000 is above HAProxy's limit (2147483)",
      ],
      [
        "maxConsecutiveFailures 3e9",
        check({ maxConsecutiveFailures: 3e9 }),
        "health check maxConsecutiveFailures 3000000000 is above HAProxy's limit (2147483647)",
      ],
    ])("%s", (_name, extra, reason) => {
      const bad = hostApp("/bad", [10000], [task({ host: "10.0.0.1", ports: [31000] })], extra);
      const options = defaultRenderOptions;
      const model = normalise(snapshotFromJson(snapshotOf(bad, good), "test"), options);
      expect(model.dropped).toEqual([{ appId: "/bad", portIndex: 0, reason }]);
      expect(model.services.map((s) => s.appId)).toEqual(["/good"]);
      expect(haproxyCheck(render(model, options))).toContain("Configuration file is valid");
    });

    it("the largest values HAProxy accepts are kept", () => {
      const max = hostApp("/max", [10000], [task()], {
        labels: { HAPROXY_0_BALANCE: "uri len 2147483647 depth 1 whole" },
        ...check({ intervalSeconds: 2147483, timeoutSeconds: 2147483, maxConsecutiveFailures: 2147483647 }),
      });
      const text = renderJson(snapshotOf(max));
      expect(text).toContain("check inter 2147483s fall 2147483647");
      expect(haproxyCheck(text)).toContain("Configuration file is valid");
    });

    it("VHOST and PATH lists longer than HAProxy's 64 words per line are split over several lines", () => {
      const hosts = Array.from({ length: 130 }, (_, i) => `h${i}.example.com`);
      const paths = Array.from({ length: 70 }, (_, i) => `/p${i}`);
      const text = renderJson(
        snapshotOf(
          hostApp("/many", [10000], [task()], {
            labels: {
              HAPROXY_0_VHOST: [...hosts, "*.wild.example.com"].join(","),
              HAPROXY_0_PATH: paths.join(" "),
            },
          }),
        ),
      );
      expect(text.match(/acl host_many_10000 /g)).toHaveLength(4);
      expect(text.match(/acl path_many_10000 /g)).toHaveLength(2);
      for (const line of text.split("\n")) expect(line.trim().split(/\s+/).length).toBeLessThan(64);
      expect(haproxyCheck(text)).toContain("Configuration file is valid");
    });

    it("task hosts fe80::1%1 and fe80::1:1 do not give duplicate server names", () => {
      const app = hostApp(
        "/v6",
        [10000],
        [task({ host: "fe80::1%1", ports: [31000] }), task({ host: "fe80::1:1", ports: [31000] })],
      );
      const model = normalise(snapshotFromJson(snapshotOf(app), "test"), defaultRenderOptions);
      expect(model.services[0]?.servers.map((s) => s.name)).toEqual(["fe80__1_1_31000"]);
      expect(model.excluded.map((e) => e.reason)).toEqual(['invalid host "fe80::1%1"']);
      expect(haproxyCheck(render(model, defaultRenderOptions))).toContain("Configuration file is valid");
    });
  },
);

describe("userlist passwords hidden for output that reaches logs", () => {
  it("a config: every user's hash or plaintext password", () => {
    const config = "userlist u\n  user alice insecure-password s3cret\n  user bob password $6$salt$hash\n";
    expect(hidePasswords(config)).toBe(
      "userlist u\n  user alice insecure-password (hidden)\n  user bob password (hidden)\n",
    );
  });

  it("a head's stats page password (stats auth USER:PASS)", () => {
    expect(hidePasswords("listen stats\n  stats auth admin:s3cret\n  stats  auth  ops:x:y\n")).toBe(
      "listen stats\n  stats auth admin:(hidden)\n  stats  auth  ops:(hidden)\n",
    );
  });

  it("a patch: after each diff marker, so a changed password stays a changed line", () => {
    const patch = [
      "--- a/haproxy.cfg\t(published)",
      "+++ b/haproxy.cfg\t(snapshot x)",
      "@@ -1,2 +1,2 @@ userlist u",
      " userlist u",
      "-  user alice insecure-password old",
      "+  user alice insecure-password new",
      "",
    ].join("\n");
    expect(hidePatchPasswords(patch)).toBe(
      patch.replace("password old", "password (hidden)").replace("password new", "password (hidden)"),
    );
  });

  it("a patch: every line after its marker exactly as hidePasswords hides that line alone", () => {
    const lines = [
      "+  user a password x",
      "-  user a insecure-password y\r+  user b password z",
      "+\tstats auth admin:pw",
      " stats  auth  ops:x:y",
      "++ user a password x",
      "+user a password\u2028x",
      "+ auth",
      "+password",
      "-  user c password p1 auth password p2\u2029 user d password p3",
      "no marker: user e password p4",
      "@@ -1 +1 @@ user a password q",
      "   server web_1 10.0.0.1:80 check",
    ];
    const patch = lines.join("\n");
    const lineByLine = patch.replace(
      /^([-+ ])(.*)$/gm,
      (_, marker: string, line: string) => marker + hidePasswords(line),
    );
    expect(hidePatchPasswords(patch)).toBe(lineByLine);
    expect(lineByLine).not.toBe(patch);
  });
});

describe("the app-id frontend", () => {
  const httpApp = snapshotOf(hostApp("/web", [10000], [task()], { labels: { HAPROXY_0_MODE: "http" } }));

  it("is emitted on *:9091 when some app is in http mode; --app-id-port 0 leaves it out", () => {
    expect(renderJson(httpApp)).toContain("frontend app_id_in\n  bind *:9091\n");
    const without = renderJson(httpApp, { appIdPort: 0 });
    expect(without).not.toContain("app_id_in");
    expect(without).not.toContain("9091");
  });
});
