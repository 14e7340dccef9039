import { describe, expect, it } from "vitest";
import { ExitCode, MhcError } from "../../src/errors.ts";
import { runCommand, splitCommandLine } from "../../src/io/command.ts";

describe("splitCommandLine as --exec", () => {
  it("splits into argv like a shell splits words, without expanding anything", () => {
    expect(splitCommandLine("systemctl reload haproxy", "--exec")).toEqual([
      "systemctl",
      "reload",
      "haproxy",
    ]);
    expect(splitCommandLine("  a   b\tc ", "--exec")).toEqual(["a", "b", "c"]);
    expect(splitCommandLine(`cp '/etc/my haproxy.cfg' "/tmp/a \\"b\\"" \\$HOME`, "--exec")).toEqual([
      "cp",
      "/etc/my haproxy.cfg",
      '/tmp/a "b"',
      "$HOME",
    ]);
    expect(splitCommandLine(`echo $HOME ';' '' "x"y'z'`, "--exec")).toEqual([
      "echo",
      "$HOME",
      ";",
      "",
      "xyz",
    ]);
    expect(splitCommandLine(`sh -c 'kill -USR2 $(cat /run/haproxy.pid)'`, "--exec")).toEqual([
      "sh",
      "-c",
      "kill -USR2 $(cat /run/haproxy.pid)",
    ]);
  });

  it("refuses an unclosed quote and an empty command", () => {
    expect(() => splitCommandLine(`reload "now`, "--exec")).toThrow('unclosed " quote');
    expect(() => splitCommandLine("   ", "--exec")).toThrow("--exec needs a command");
  });
});

describe("splitCommandLine as --reload-cmd", () => {
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
    expect(splitCommandLine(input, "--reload-cmd")).toEqual(expected);
  });

  it.each([`systemctl 'reload`, `a "b`, "   ", ""])("refuses %j as a usage error", (input) => {
    expect(() => splitCommandLine(input, "--reload-cmd")).toThrow(MhcError);
    try {
      splitCommandLine(input, "--reload-cmd");
    } catch (error) {
      expect((error as MhcError).exitCode).toBe(ExitCode.usage);
    }
  });
});

describe("runCommand", () => {
  it("runs argv without a shell: metacharacters reach the program as text", async () => {
    const said = await runCommand(["printf", "%s", "$HOME; echo hi"], "--exec");
    expect(said).toBe("$HOME; echo hi");
  });

  it("a failing or hanging command is an MhcError (reloadFailed) with the reason", async () => {
    const failed = await runCommand(["sh", "-c", "echo no socket >&2; exit 3"], "--exec").catch(
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(MhcError);
    expect((failed as MhcError).exitCode).toBe(ExitCode.reloadFailed);
    expect((failed as MhcError).message).toMatch(/^--exec ".*" exited with status 3: no socket$/);
    const hung = await runCommand(["sleep", "10"], "--exec", 200).catch((e: unknown) => e);
    expect((hung as MhcError).message).toContain("was killed after 0.2 s");
    const missing = await runCommand(["/nonexistent/reload-haproxy"], "--reload-cmd").catch(
      (e: unknown) => e,
    );
    expect((missing as MhcError).message).toBe('--reload-cmd "/nonexistent/reload-haproxy" was not found');
  });
});
