import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { colorOn } from "../src/log.ts";
import { runMhc } from "./helpers/cli.ts";
import { freePort } from "./helpers/net.ts";

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

describe("debug lines", () => {
  it("MHC_DEBUG=1 gives the lines --verbose gives (each Marathon attempt); neither: none", async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const render = (extra: string[], env: Record<string, string> = {}) =>
      runMhc(["render", closed, "--retries", "0", ...extra], { env: { MHC_DEBUG: undefined, ...env } });
    const attempt = `mhc: debug: Marathon http://${closed}: connect ECONNREFUSED`;
    const verbose = await render(["--verbose"]);
    const debugEnv = await render([], { MHC_DEBUG: "1" });
    const plain = await render([]);
    for (const result of [verbose, debugEnv, plain]) expect(result.code).toBe(3);
    expect(verbose.stderr).toContain(attempt);
    expect(debugEnv.stderr).toContain(attempt);
    expect(plain.stderr).not.toContain("debug:");
  });
});
