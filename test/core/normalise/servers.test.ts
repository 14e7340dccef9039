import { describe, expect, it } from "vitest";
import type { ExcludedTask } from "../../../src/core/model.ts";
import type { PortSpec } from "../../../src/core/normalise/ports.ts";
import { hostChecks, serversFor, taskExclusion, taskServer } from "../../../src/core/normalise/servers.ts";
import type { MarathonApp, MarathonTask } from "../../../src/core/snapshot.ts";

const hostPort: PortSpec = { index: 0, servicePort: 10000, hostPortIndex: 0 };
const containerPort: PortSpec = { index: 0, servicePort: 10000, containerPort: 8080 };

describe("servers pass", () => {
  it.each([
    [{ state: "TASK_RUNNING" }, false, undefined],
    [{ state: "TASK_STAGING" }, false, "state TASK_STAGING"],
    [{ state: "TASK_UNREACHABLE" }, false, "state TASK_UNREACHABLE"],
    [{ state: "TASK_UNREACHABLE" }, true, undefined],
    [{ state: "TASK_LOST" }, false, "state TASK_LOST"],
    [{ state: "TASK_LOST" }, true, undefined],
    [{ startedAt: "2026-01-01" }, false, undefined],
    [{}, false, "state unknown"],
    [{ state: "TASK_X\nGate-Overridden: forged" }, false, 'state "TASK_X\\nGate-Overridden: forged"'],
    [
      { state: "TASK_RUNNING", healthCheckResults: [{ alive: false }] },
      false,
      "Marathon health checks failing",
    ],
    [{ state: "TASK_RUNNING", healthCheckResults: [{ alive: false }, { alive: true }] }, false, undefined],
    [{ state: "TASK_RUNNING", healthCheckResults: [] }, false, undefined],
  ] as [MarathonTask, boolean, string | undefined][])(
    "task %j (keepUnreachable %s): %s",
    (task, keepUnreachable, reason) => {
      expect(taskExclusion(task, { keepUnreachable })).toBe(reason);
    },
  );

  it.each([
    [{ host: "10.0.0.1", ports: [31000] }, hostPort, "10.0.0.1_31000"],
    [{ host: "agent-1.example", ports: [31000] }, hostPort, "agent-1.example_31000"],
    [{ host: "fe80::1:1", ports: [31000] }, hostPort, "fe80__1_1_31000"],
    [{ host: "fe80::1%1", ports: [31000] }, hostPort, 'invalid host "fe80::1%1"'],
    [{ host: "bad host", ports: [31000] }, hostPort, 'invalid host "bad host"'],
    [{ ports: [31000] }, hostPort, "no host"],
    [{ host: "10.0.0.1", ports: [] }, hostPort, "no host port for port index 0"],
    [{ host: "a", ipAddresses: [{ ipAddress: "9.0.0.1" }] }, containerPort, "9.0.0.1_8080"],
    [
      { host: "a", ipAddresses: [{ ipAddress: "fe80::9%eth0" }] },
      containerPort,
      'invalid IP address "fe80::9%eth0"',
    ],
    [{ host: "a", ipAddresses: [] }, containerPort, "no IP address for an IP-per-task port"],
  ] as [MarathonTask, PortSpec, string][])("task %j on %j: %s", (task, spec, expected) => {
    const server = taskServer(task, spec, hostChecks());
    expect(typeof server === "string" ? server : server.name).toBe(expected);
  });

  it("servers are sorted by address, one per address:port", () => {
    const app: MarathonApp = {
      id: "/a",
      tasks: [
        { id: "t1", host: "10.0.0.2", ports: [2] },
        { id: "t2", host: "10.0.0.1", ports: [9] },
        { id: "t3", host: "10.0.0.1", ports: [9] },
        { id: "t4", host: "10.0.0.3", ports: [1] },
      ],
    };
    const servers = serversFor(app, hostPort, [], hostChecks(), new Map<string, ExcludedTask>());
    expect(servers.map((s) => `${s.host}:${s.port}`)).toEqual(["10.0.0.1:9", "10.0.0.2:2", "10.0.0.3:1"]);
  });

  it("server names are unique in a backend, whatever the spellings of the hosts", () => {
    const hosts = ["fe80::1%1", "fe80::1:1", "fe80::1", "fe80:0::1", "::1", "0::1", "::1:1", "1::", "1::1"];
    hosts.push("10.0.0.1", "a-1.example", "A-1.example", "a.1", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8");
    const tasks = hosts.flatMap((host) => [1, 11, 111].map((port) => ({ host, ports: [port] })));
    const servers = serversFor({ id: "/a", tasks }, hostPort, [], hostChecks(), new Map());
    expect(servers).toHaveLength((hosts.length - 1) * 3); // all but the zone id
    expect(new Set(servers.map((s) => s.name)).size).toBe(servers.length);
  });
});
