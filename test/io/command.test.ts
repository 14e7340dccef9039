import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode, MhcError } from "../../src/errors.ts";
import { pendingCommandPath, runCommand, splitCommandLine } from "../../src/io/command.ts";
import { runMhc } from "../helpers/cli.ts";

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

describe("render -o FILE --exec CMD: a failed --exec is retried by the next run", () => {
  const dir = mkdtempSync(join(tmpdir(), "mhc-exec-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps a pending marker beside FILE until CMD succeeds, also across runs", async () => {
    const snapshot = join(dir, "empty.json");
    writeFileSync(snapshot, JSON.stringify({ apps: [] }));
    const out = join(dir, "haproxy.cfg");
    const ready = join(dir, "ready");
    const ran = join(dir, "ran.log");
    const exec = `sh -c 'test -e ${ready} && echo reload >> ${ran}'`;
    const render = () => runMhc(["render", "--from", snapshot, "-o", out, "--exec", exec]);

    const failed = await render();
    expect(failed.code).toBe(12);
    expect(existsSync(pendingCommandPath(out))).toBe(true);

    writeFileSync(ready, "");
    const retried = await render(); // FILE is unchanged now, but the reload is still owed
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain("unchanged");
    expect(readFileSync(ran, "utf8")).toBe("reload\n");
    expect(existsSync(pendingCommandPath(out))).toBe(false);

    expect((await render()).code).toBe(0);
    expect(readFileSync(ran, "utf8")).toBe("reload\n");
  });
});
