import { describe, expect, it } from "vitest";
import { readLabels, translateHealthCheck } from "../../../src/core/normalise/services.ts";
import type { MarathonHealthCheck } from "../../../src/core/snapshot.ts";

describe("services pass", () => {
  it.each([
    [
      { protocol: "HTTP", path: "/h" },
      { kind: "http", tls: false, path: "/h", intervalSeconds: 60, timeoutSeconds: 20, fall: 3 },
    ],
    [
      { protocol: "MESOS_HTTPS", intervalSeconds: 2.4, maxConsecutiveFailures: 0 },
      { kind: "http", tls: true, path: "/", intervalSeconds: 2, timeoutSeconds: 20, fall: 3 },
    ],
    [
      { protocol: "TCP", timeoutSeconds: -5 },
      { kind: "tcp", tls: false, path: "/", intervalSeconds: 60, timeoutSeconds: 20, fall: 3 },
    ],
    [{ protocol: "COMMAND" }, undefined],
    [
      {
        protocol: "TCP",
        intervalSeconds: 2147483,
        timeoutSeconds: 2147483,
        maxConsecutiveFailures: 2147483647,
      },
      {
        kind: "tcp",
        tls: false,
        path: "/",
        intervalSeconds: 2147483,
        timeoutSeconds: 2147483,
        fall: 2147483647,
      },
    ],
  ] as [MarathonHealthCheck, unknown][])("health check %j becomes %j", (check, expected) => {
    expect(translateHealthCheck(check)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [
      { protocol: "TCP", intervalSeconds: 2147484 },
      "health check intervalSeconds 2147484 is above HAProxy's limit (2147483)",
    ],
    [
      { protocol: "TCP", timeoutSeconds: 1e300 },
      "health check timeoutSeconds 1e+300 is above HAProxy's limit (2147483)",
    ],
    [
      { protocol: "TCP", maxConsecutiveFailures: 2147483648 },
      "health check maxConsecutiveFailures 2147483648 is above HAProxy's limit (2147483647)",
    ],
    [{ protocol: "HTTP", path: "/a b" }, 'health check path "/a b" is not a plain URL path'],
  ] as [MarathonHealthCheck, string][])("health check %j is refused: %s", (check, reason) => {
    expect(translateHealthCheck(check)).toEqual({ ok: false, reason });
  });

  it("labels are sorted by the label table: implemented, ignored, refused, unknown", () => {
    const labels = readLabels({
      id: "/a",
      labels: {
        HAPROXY_GROUP: "ext",
        HAPROXY_0_VHOST: "a.example",
        HAPROXY_0_STICKY: "true",
        HAPROXY_1_AUTH: "r:u:p",
        HAPROXY_0_FRONTEND_HEAD: "x",
        HAPROXY_0_HTTP_FRONTEND_ACL: "x",
        HAPROXY_0_NOPE: "x",
        HAPROXY_NOPE: "x",
        OTHER: "x",
      },
    });
    expect(labels.groups).toEqual({ ok: true, value: ["ext"] });
    expect([...(labels.ports.get(0)?.keys() ?? [])]).toEqual(["VHOST", "STICKY"]);
    expect([...(labels.ports.get(1)?.keys() ?? [])]).toEqual(["AUTH"]);
    expect(labels.ignored).toEqual([]);
    expect(labels.refused).toEqual(["HAPROXY_0_HTTP_FRONTEND_ACL"]);
    expect([...(labels.templates.get(0)?.keys() ?? [])]).toEqual(["FRONTEND_HEAD"]);
    expect(labels.unknown).toEqual(["HAPROXY_{n}_NOPE", "HAPROXY_NOPE"]);
  });
});
