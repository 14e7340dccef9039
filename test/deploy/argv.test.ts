import { describe, expect, it } from "vitest";
import { splitCommand } from "../../src/deploy/argv.ts";
import { ExitCode, MhcError } from "../../src/errors.ts";

describe("splitCommand (--reload-cmd without a shell)", () => {
  it.each([
    ["systemctl reload haproxy", ["systemctl", "reload", "haproxy"]],
    ["  kill   -USR2  123 ", ["kill", "-USR2", "123"]],
    [
      `/opt/my\\ tools/reload --name 'a b' --x "c \\"d\\" e"`,
      ["/opt/my tools/reload", "--name", "a b", "--x", 'c "d" e'],
    ],
    ["echo '' end", ["echo", "", "end"]],
    ["echo $(rm -rf /); true | cat", ["echo", "$(rm", "-rf", "/);", "true", "|", "cat"]],
    ["echo 'it''s'", ["echo", "its"]],
  ])("%s", (input, expected) => {
    expect(splitCommand(input)).toEqual(expected);
  });

  it.each([`systemctl 'reload`, `a "b`, "   ", ""])("refuses %j as a usage error", (input) => {
    expect(() => splitCommand(input)).toThrow(MhcError);
    try {
      splitCommand(input);
    } catch (error) {
      expect((error as MhcError).exitCode).toBe(ExitCode.usage);
    }
  });
});
