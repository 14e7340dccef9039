import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { measurePropagation } from "../../scripts/bench/propagation.ts";
import { mhcCommand } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

describe.skipIf(!haproxyAvailable())(
  "propagation: Marathon → sync --watch → git → deploy --watch → HAProxy",
  () => {
    it("scale events reach HAProxy under HTTP load with default settings: median < 4 s, worst < 8 s, 0 failed requests, 0 reloads", async () => {
      const dir = mkdtempSync(join(tmpdir(), "mhc-propagation-"));
      try {
        const result = await measurePropagation({ mhc: mhcCommand(), events: 6, dir, log: console.info });
        console.info(`propagation: ${JSON.stringify(result)}`);
        expect(result.delaysMs).toHaveLength(6);
        expect(median(result.delaysMs)).toBeLessThan(4_000);
        expect(Math.max(...result.delaysMs)).toBeLessThan(8_000);
        expect(result.errors).toEqual({});
        expect(result.requestsFailed).toBe(0);
        expect(result.requestsOk).toBeGreaterThan(100);
        expect(result.reloads).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
