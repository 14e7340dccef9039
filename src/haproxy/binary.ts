import { execFile, spawn } from "node:child_process";
import { ExitCode, MhcError } from "../errors.ts";

export interface CheckResult {
  valid: boolean;
  /** HAProxy's own words (stdout + stderr), trimmed. */
  output: string;
}

function run(
  bin: string,
  args: string[],
): Promise<{ code: number | null; output: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      const missing = (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
      resolve({ code, output: `${stdout}${stderr}`.trim(), missing });
    });
  });
}

/** `haproxy -v`'s first line; throws a clear MhcError when the binary is not there. */
export async function haproxyVersion(bin = "haproxy"): Promise<string> {
  const result = await run(bin, ["-v"]);
  if (result.missing) {
    throw new MhcError(
      `HAProxy not found ("${bin}" is not on PATH): install it (e.g. apt-get install haproxy) or pass --haproxy BIN`,
      ExitCode.haproxyMissing,
    );
  }
  return result.output.split("\n")[0] ?? "";
}

/** Runs `haproxy -c -f FILE`: HAProxy itself decides whether the config is valid. */
export async function checkConfig(file: string, bin = "haproxy"): Promise<CheckResult> {
  await haproxyVersion(bin);
  const result = await run(bin, ["-c", "-f", file]);
  return { valid: result.code === 0, output: result.output };
}

/** The most telling line of HAProxy's output, for a one-line error message. */
export function firstAlert(output: string): string {
  const lines = output.split("\n").map((l) => l.trim());
  return lines.find((l) => l.includes("[ALERT]")) ?? lines.find((l) => l.length > 0) ?? "no output";
}

export interface DaemonStart {
  code: number | null;
  output: string;
}

const daemonStartTimeoutMs = 60_000;

/**
 * Runs a daemonising HAProxy (`-D`): the foreground process exits once the new one is up, with a
 * non-zero code when it could not start. Should a daemon keep our pipes open, exit still ends the wait.
 */
export function startDaemon(bin: string, args: string[]): Promise<DaemonStart> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const killer = setTimeout(() => child.kill("SIGKILL"), daemonStartTimeoutMs);
    let exitCode: number | null = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(killer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code: exitCode, output: output.trim() });
    };
    child.on("error", (error) => {
      output += error.message;
      finish();
    });
    child.on("exit", (code) => {
      exitCode = code;
      setTimeout(finish, 2_000).unref();
    });
    child.on("close", finish);
  });
}
