import { describe, expect, it } from "vitest";
import { listenerSocket, listeners } from "../../src/haproxy/config.ts";

describe("listeners: the TCP addresses a config binds, for the bind pre-flight", () => {
  it.each([
    ["bind *:80", [{ host: "*", port: 80 }]],
    ["  bind 127.0.0.1:8080 ssl crt /x.pem", [{ host: "127.0.0.1", port: 8080 }]],
    ["bind :443", [{ host: "", port: 443 }]],
    ["bind [::1]:10000", [{ host: "::1", port: 10000 }]],
    ["bind :::80 v4v6", [{ host: "::", port: 80 }]],
    ["bind ipv6@::1:81", [{ host: "::1", port: 81 }]],
    [
      "bind 10.0.0.1:1,10.0.0.2:2",
      [
        { host: "10.0.0.1", port: 1 },
        { host: "10.0.0.2", port: 2 },
      ],
    ],
    ["bind unix@/run/x.sock", []],
    ["bind /run/x.sock", []],
    ["bind fd@3", []],
    ["bind *:8000-8010", []],
    // HAProxy expands environment variables: the port is not known before.
    ['bind *:"$PORT"', []],
    ["bind quic4@:443", []],
    ["# bind *:80", []],
  ])("%s", (line, expected) => {
    expect(listeners(`frontend f\n${line}\n`)).toEqual(expected);
  });
});

describe("listenerSocket: the stats socket that exposes the listeners (for -x)", () => {
  it.each([
    [
      "stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners",
      "/run/haproxy/admin.sock",
    ],
    ["stats socket unix@/run/a.sock expose-fd listeners", "/run/a.sock"],
    ["stats socket /run/haproxy/admin.sock mode 600 level admin", undefined],
    ["stats socket ipv4@127.0.0.1:9999 expose-fd listeners", undefined],
  ])("%s", (line, expected) => {
    expect(listenerSocket(`global\n  ${line}\n`)).toBe(expected);
  });
});
