import { spawn } from "node:child_process";
import { resolve } from "node:path";
import process from "node:process";

export const repoRoot = resolve(import.meta.dirname, "../..");

/**
 * How the end-to-end tests run mhc: the compiled binary when MHC_BIN is set (CI does this after
 * `npm run build`), Deno when MHC_RUNTIME=deno, otherwise Bun straight from src/.
 */
export function mhcCommand(): { cmd: string; args: string[] } {
  const bin = process.env.MHC_BIN;
  if (bin) return { cmd: resolve(repoRoot, bin), args: [] };
  if (process.env.MHC_RUNTIME === "deno") {
    return {
      cmd: resolve(repoRoot, "node_modules/.bin/deno"),
      args: ["run", "-A", resolve(repoRoot, "src/cli.ts")],
    };
  }
  return { cmd: resolve(repoRoot, "node_modules/.bin/bun"), args: [resolve(repoRoot, "src/cli.ts")] };
}

/**
 * Deno's node:child_process reports the signal a test sent instead of the child's own exit status,
 * so an exit code after kill() is only checked where the harness can read it. The deno-cli CI stage
 * runs the same tests with mhc on Deno and the harness on Node, which does.
 */
export const harnessReadsExitStatusAfterKill = !("Deno" in globalThis);

export interface MhcResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface MhcOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed; without it (startMhc) stdin is not connected. */
  input?: string;
  /** Killed after this long whatever happens (default 60 s). */
  timeoutMs?: number;
}

/** Runs mhc to completion and returns its exit code and output. */
export function runMhc(args: string[], options: MhcOptions = {}): Promise<MhcResult> {
  return startMhc(args, { ...options, input: options.input ?? "" }).exited;
}

export interface RunningMhc {
  stdout(): string;
  stderr(): string;
  /** Sends a signal to the process (SIGTERM, SIGINT). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<MhcResult>;
  /** SIGTERM, then SIGKILL after `graceMs` if still running; resolves with the outcome. */
  stop(graceMs?: number): Promise<MhcResult>;
}

/**
 * Starts mhc the same way as runMhc but does not wait for it: for long-running modes (--watch)
 * that a test observes and signals while they run. Killed after `timeoutMs` whatever happens.
 */
export function startMhc(args: string[], options: MhcOptions = {}): RunningMhc {
  const { cmd, args: prefix } = mhcCommand();
  const child = spawn(cmd, [...prefix, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...options.env },
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c) => {
    stdout += c;
  });
  child.stderr?.on("data", (c) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const exited = new Promise<MhcResult>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? -1 : 0), stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal) => {
      // process.kill, not child.kill: Deno's ChildProcess ignores every signal after its first (a
      // SIGSTOP would never be followed by its SIGCONT).
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, signal);
    },
    exited,
    stop: async (graceMs = 40_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}
