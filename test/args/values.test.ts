import { describe, expect, it } from "vitest";
import { givenFlags, numberFlag, repeated, sizeFlag } from "../../src/args/values.ts";
import { ExitCode, MhcError } from "../../src/errors.ts";

const usageError = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MhcError);
    expect((error as MhcError).exitCode).toBe(ExitCode.usage);
    return (error as MhcError).message;
  }
  throw new Error("expected a usage error");
};

describe("flag values", () => {
  it("repeated flags keep every value in order, in both spellings, up to --", () => {
    expect(repeated(["--group", "a", "--group=b", "--", "--group", "c"], "group")).toEqual(["a", "b"]);
  });

  it("given flags are found in both spellings, up to --, not by prefix", () => {
    const names = ["auth", "timeout", "retries", "ca-file"];
    expect(givenFlags(["--timeout=5", "x", "--auth", "u:p", "--", "--retries"], names)).toEqual([
      "auth",
      "timeout",
    ]);
    expect(givenFlags(["--authx", "--ca-files", "f", "-t"], names)).toEqual([]);
  });

  it("numbers are checked against their bounds and integer-ness", () => {
    expect(numberFlag("2.5", "timeout", { min: 0, max: 10, integer: false })).toBe(2.5);
    expect(usageError(() => numberFlag("2.5", "retries", { min: 0, max: 20, integer: true }))).toBe(
      '--retries must be an integer from 0 to 20, not "2.5"',
    );
    usageError(() => numberFlag("", "retries", { min: 0, max: 20, integer: true }));
    for (const odd of ["1e1", "0x10", "10.0", "+ 5"])
      expect(usageError(() => numberFlag(odd, "retries", { min: 0, max: 20, integer: true }))).toBe(
        `--retries must be an integer from 0 to 20, not "${odd}"`,
      );
    expect(numberFlag(" 7 ", "retries", { min: 0, max: 20, integer: true })).toBe(7);
  });

  it("sizes take k, m, g (binary), an optional b/ib, or bare bytes", () => {
    expect(sizeFlag("1g", "max-response")).toBe(2 ** 30);
    expect(sizeFlag("512MiB", "max-response")).toBe(512 * 2 ** 20);
    expect(sizeFlag("64k", "max-response")).toBe(65_536);
    expect(sizeFlag("1000", "max-response")).toBe(1_000);
    expect(sizeFlag("1.5m", "max-response")).toBe(1.5 * 2 ** 20);
    for (const bad of ["0", "-1k", "lots", "1t", ""])
      expect(usageError(() => sizeFlag(bad, "max-response"))).toContain("--max-response must be a size");
  });
});
