import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { colorOn } from "../src/log.ts";

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
