import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration, parsePositiveDuration, parseWait } from "../../src/args/duration.ts";
import { ExitCode, MhcError } from "../../src/errors.ts";

describe("durations", () => {
  it("reads ms, s, m and h, decimals, and a bare number as seconds", () => {
    expect(parseDuration("200ms", "x")).toBe(200);
    expect(parseDuration("2s", "x")).toBe(2_000);
    expect(parseDuration("1.5s", "x")).toBe(1_500);
    expect(parseDuration("5m", "x")).toBe(300_000);
    expect(parseDuration("1h", "x")).toBe(3_600_000);
    expect(parseDuration("60", "x")).toBe(60_000);
    expect(parseDuration("0", "x")).toBe(0);
  });

  it("refuses other units, negative numbers, nonsense and more than a day, naming the flag", () => {
    for (const text of ["5 minutes", "-1s", "1d", "s", "", "1e3", "25h"]) {
      const error = (() => {
        try {
          parseDuration(text, "resync");
        } catch (e) {
          return e;
        }
      })();
      expect(error, text).toBeInstanceOf(MhcError);
      expect((error as MhcError).exitCode).toBe(ExitCode.usage);
      expect((error as MhcError).message).toContain("--resync must be a duration");
    }
    expect(() => parsePositiveDuration("0s", "idle-timeout")).toThrow(
      "--idle-timeout must be more than zero",
    );
  });

  it("--wait MIN:MAX, a lone MIN meaning MAX = 4 × MIN (consul-template), MAX never below MIN", () => {
    expect(parseWait("2s:10s")).toEqual({ minMs: 2_000, maxMs: 10_000 });
    expect(parseWait("500ms")).toEqual({ minMs: 500, maxMs: 2_000 });
    expect(parseWait("0:1s")).toEqual({ minMs: 0, maxMs: 1_000 });
    expect(() => parseWait("10s:2s")).toThrow("at least MIN");
    expect(() => parseWait("0:0")).toThrow("more than zero");
    expect(() => parseWait("1s:2s:3s")).toThrow("MIN or MIN:MAX");
  });

  it("formats for log lines", () => {
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatDuration(1_000)).toBe("1 s");
    expect(formatDuration(1_540)).toBe("1.5 s");
    expect(formatDuration(300_000)).toBe("5 min");
  });
});
