import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bindKey } from "../../src/core/address.ts";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import {
  incumbentsOf,
  type PublishedModel,
  parseModelFile,
  publishedModelOf,
  readConfigText,
  serialiseModel,
} from "../../src/core/published.ts";
import { render } from "../../src/core/render.ts";
import { parseSnapshot } from "../../src/core/snapshot.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";

const mixed = snapshotOf(
  hostApp("/shop/web", [10000, 10001], [task({ id: "w1", host: "10.0.0.2", ports: [31002, 31003] })], {
    labels: { HAPROXY_0_VHOST: "shop.example.com,*.shop.example.com", HAPROXY_1_PATH: "/api /v2" },
    healthChecks: [
      { protocol: "MESOS_HTTPS", path: "/health", portIndex: 0, intervalSeconds: 10, timeoutSeconds: 5 },
    ],
  }),
  hostApp("/db", [5432], [task({ host: "db-1.internal", ports: [31432] }), task({ state: "TASK_STAGING" })], {
    labels: { HAPROXY_0_BIND_ADDR: "127.0.0.1", HAPROXY_0_PORT: "15432", HAPROXY_0_BALANCE: "leastconn" },
    healthChecks: [
      { protocol: "TCP", portIndex: 0, intervalSeconds: 3, timeoutSeconds: 1, maxConsecutiveFailures: 2 },
    ],
  }),
  hostApp("/v6", [10600], [task({ host: "::1", ports: [31600] })], {
    labels: { HAPROXY_0_MODE: "http", HAPROXY_0_BIND_ADDR: "::1" },
  }),
  hostApp("/bad", [10700], [task()], { labels: { HAPROXY_0_MODE: "udp" } }),
);

const modelOf = (snapshot: unknown) =>
  normalise(parseSnapshot(JSON.stringify(snapshot), "test"), defaultRenderOptions);

describe("the model file", () => {
  it("is deterministic JSON with sorted keys and one server per line, and reads back as written", () => {
    const model = publishedModelOf(modelOf(mixed));
    const text = serialiseModel(model);
    expect(serialiseModel(publishedModelOf(modelOf(mixed)))).toBe(text);
    expect(text).toContain('\n        {"host":"10.0.0.2","name":"10.0.0.2_31002","port":31002}\n');
    expect(text).toMatch(
      /\n {2}"dropped": \[\n {4}\{"appId":"\/bad","portIndex":0,"reason":".+"\}\n {2}\],\n/,
    );
    expect(text).toContain('"excluded": [\n    {"appId":"/db","reason":"state TASK_STAGING","taskId":');
    expect(text.split("\n")[1]).toBe('  "dropped": [');
    expect(parseModelFile(text)).toEqual(JSON.parse(JSON.stringify(model)));
  });

  it("writes a model whose services and entries were written before exactly as a fresh copy of it", () => {
    const model = publishedModelOf(modelOf(mixed));
    const first = serialiseModel(model);
    // Kept lines (services, dropped apps, excluded tasks) are reused, also in a new model sharing them.
    const again = serialiseModel({ ...model, services: [...model.services] });
    expect(again).toBe(first);
    expect(serialiseModel(JSON.parse(JSON.stringify(model)) as PublishedModel)).toBe(first);
    expect(parseModelFile(again)).toEqual(JSON.parse(JSON.stringify(model)));
  });

  it.each([
    ["not JSON", "{"],
    ["another schema", '{"schema":2,"services":[],"dropped":[],"excluded":[]}'],
    [
      "a service without servers",
      '{"schema":1,"services":[{"name":"x","appId":"/x","bindAddress":"*","bindPort":1}],"dropped":[],"excluded":[]}',
    ],
    ["no lists", '{"schema":1}'],
  ])("an unusable file (%s) is not trusted", (_, text) => {
    expect(parseModelFile(text)).toBeUndefined();
  });
});

/** What the config reader cannot know: port indexes per app, routing weights, vhost order. */
function comparable(model: PublishedModel) {
  return model.services.map(({ portIndex: _p, backendWeight: _w, vhosts, ...rest }) => ({
    ...rest,
    vhosts: [...vhosts].sort(),
  }));
}

describe("the config reader (fallback for a repo without a model file)", () => {
  it.each([
    ["labels, checks, IPv6, bind addresses", mixed],
    ["100 real apps", JSON.parse(readFileSync("fixtures/real-100-apps.json", "utf8"))],
    [
      "blue/green (marathon-lb's zdd fixture)",
      JSON.parse(readFileSync("fixtures/mlb-zdd_apps.json", "utf8")),
    ],
    [
      "a check by port and PATH -i",
      {
        apps: [
          {
            id: "/p",
            portDefinitions: [{ port: 10000 }],
            labels: { HAPROXY_0_VHOST: "p.example.com", HAPROXY_0_PATH: "-i /API" },
            healthChecks: [
              { protocol: "HTTP", path: "/", port: 8080, intervalSeconds: 2, timeoutSeconds: 1 },
            ],
            tasks: [{ id: "p.1", host: "10.0.0.1", ports: [31000], state: "TASK_RUNNING" }],
          },
        ],
      },
    ],
  ])("reads back what render wrote: %s", (_, snapshot) => {
    const model = modelOf(snapshot);
    const read = readConfigText(render(model, defaultRenderOptions));
    expect(comparable(read)).toEqual(comparable(publishedModelOf(model)));
    expect(read.dropped).toEqual([]);
    expect(read.excluded).toEqual([]);
  });

  it("ignores sections mhc did not write (a custom head)", () => {
    const text =
      "global\n  maxconn 1\n\nbackend custom\n  server x 10.9.9.9:1\n\nlisten stats\n  bind :9090\n";
    expect(readConfigText(text).services).toEqual([]);
  });
});

describe("bind keys and incumbents", () => {
  it.each([
    ["::1", 80, "::1:80"],
    ["0:0:0:0:0:0:0:1", 80, "::1:80"],
    ["2001:DB8::1", 443, "2001:db8::1:443"],
    ["10.0.0.1", 8080, "10.0.0.1:8080"],
    ["*", 10000, "*:10000"],
  ])("%s port %i is %s", (address, port, key) => {
    expect(bindKey(address, port)).toBe(key);
  });

  it("names the app that owns each bind in the published model", () => {
    const incumbents = incumbentsOf(publishedModelOf(modelOf(mixed)));
    expect(Object.fromEntries(incumbents)).toEqual({
      "*:10000": "/shop/web",
      "*:10001": "/shop/web",
      "127.0.0.1:15432": "/db",
      "::1:10600": "/v6",
    });
  });
});
