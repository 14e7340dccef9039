import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { freePort } from "./net.ts";

describe("freePort, the tests' source of ports for HAProxy", () => {
  it("gives distinct ports to calls made at once, all below the kernel's own range", async () => {
    const ports = await Promise.all(Array.from({ length: 300 }, freePort));
    expect(new Set(ports).size).toBe(ports.length);
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    for (const port of ports) expect(port).toBeLessThan(low);
  });
});
