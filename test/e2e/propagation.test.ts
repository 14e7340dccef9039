import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { measurePropagation } from "../../scripts/bench/propagation.ts";
import { mhcCommand } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";

describe.skipIf(!haproxyAvailable())(
  "propagation: Marathon → sync --watch → git → deploy --watch → HAProxy",
  () => {
    // The < 4 s median and < 8 s worst targets are held by `npm run bench` (timings belong there, not
    // in tests that also run under slower harnesses); this checks that every event arrives, safely.
    it("scale events reach HAProxy under HTTP load with default settings: each one served, 0 failed requests, 0 reloads", async () => {
      const dir = mkdtempSync(join(tmpdir(), "mhc-propagation-"));
      try {
        const result = await measurePropagation({ mhc: mhcCommand(), events: 6, dir, log: console.info });
        console.info(`propagation: ${JSON.stringify(result)}`);
        expect(result.delaysMs).toHaveLength(6);
        expect(Math.max(...result.delaysMs)).toBeLessThan(30_000);
        expect(result.errors).toEqual({});
        expect(result.requestsFailed).toBe(0);
        expect(result.requestsOk).toBeGreaterThan(100);
        expect(result.reloads).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);

    it("the same with the config committed in parts (sync --layout parts): each served, 0 failed requests, 0 reloads", async () => {
      const dir = mkdtempSync(join(tmpdir(), "mhc-propagation-"));
      try {
        const result = await measurePropagation({ mhc: mhcCommand(), events: 4, dir, layout: "parts" });
        expect(result.delaysMs).toHaveLength(4);
        expect(result.errors).toEqual({});
        expect(result.requestsFailed).toBe(0);
        expect(result.reloads).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
