import { describe, expect, it } from "vitest";
import { networkMode, portSpecs } from "../../../src/core/normalise/ports.ts";
import type { MarathonApp } from "../../../src/core/snapshot.ts";

describe("ports and networking pass", () => {
  it.each([
    [{ id: "/a" }, "host"],
    [{ id: "/a", networks: [{ mode: "host" }] }, "host"],
    [{ id: "/a", networks: [{ mode: "container/bridge" }] }, "bridge"],
    [{ id: "/a", networks: [{ mode: "container" }] }, "container"],
    [{ id: "/a", container: { docker: { network: "BRIDGE" } } }, "bridge"],
    [{ id: "/a", container: { docker: { network: "USER" } } }, "container"],
    [{ id: "/a", ipAddress: {} }, "container"],
  ] as [MarathonApp, string][])("%j is %s networking", (app, mode) => {
    expect(networkMode(app)).toBe(mode);
  });

  it.each([
    [
      { id: "/a", portDefinitions: [{ port: 10000 }, { port: 0 }] },
      [
        { index: 0, servicePort: 10000, hostPortIndex: 0, requiredPort: undefined },
        { index: 1, servicePort: 0, hostPortIndex: 1, requiredPort: undefined },
      ],
    ],
    [
      { id: "/a", ports: [10000], requirePorts: true },
      [{ index: 0, servicePort: 10000, hostPortIndex: 0, requiredPort: 10000 }],
    ],
    [
      {
        id: "/a",
        networks: [{ mode: "container" }],
        container: {
          portMappings: [
            { containerPort: 80, servicePort: 10000 },
            { containerPort: 81, hostPort: 0 },
          ],
        },
      },
      [
        { index: 0, servicePort: 10000, containerPort: 80 },
        { index: 1, servicePort: 0, hostPortIndex: 0 },
      ],
    ],
    [
      {
        id: "/a",
        ipAddress: { discovery: { ports: [{ number: 8080 }] } },
        portDefinitions: [{ port: 10005 }],
      },
      [{ index: 0, servicePort: 10005, containerPort: 8080 }],
    ],
  ] as [MarathonApp, unknown][])("%j gives %j", (app, specs) => {
    expect(portSpecs(app)).toEqual(specs);
  });
});
