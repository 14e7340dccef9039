import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { colorOn, withoutRuntimeAdvice } from "../src/log.ts";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("colorOn", () => {
  const terminal = { isTTY: true };
  const pipe = { isTTY: false };

  it("a terminal gets colour; a pipe or file never, not even with FORCE_COLOR", () => {
    process.env = { TERM: "xterm" };
    expect(colorOn(terminal)).toBe(true);
    process.env = { TERM: "xterm", FORCE_COLOR: "1" };
    expect(colorOn(pipe)).toBe(false);
  });

  it.each([{ NO_COLOR: "1" }, { NO_COLOR: "yes" }, { FORCE_COLOR: "0" }, { TERM: "dumb" }])(
    "%o turns it off on a terminal",
    (env) => {
      process.env = { TERM: "xterm", ...env };
      expect(colorOn(terminal)).toBe(false);
    },
  );
});

describe("withoutRuntimeAdvice", () => {
  it("drops what Bun's fetch appends to its errors, keeping mhc's own words", () => {
    expect(
      withoutRuntimeAdvice(
        "Marathon unreachable: http://m:8080 (ECONNREFUSED: Unable to connect. Is the computer able to access the url?)",
      ),
    ).toBe("Marathon unreachable: http://m:8080 (ECONNREFUSED: Unable to connect.)");
    expect(
      withoutRuntimeAdvice(
        "fetch failed. For more information, pass `verbose: true` in the second argument to fetch()",
      ),
    ).toBe("fetch failed");
  });
});
