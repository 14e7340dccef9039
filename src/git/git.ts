import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { ExitCode, MhcError } from "../errors.ts";
import { redact } from "../log.ts";

/**
 * The one way mhc runs git. Each call has a deadline; git runs in its own process group so that on
 * expiry the group is killed as a whole: a stalled `git fetch` leaves no `git-remote-http` behind.
 */

/** What a git child may see: enough to find credentials the usual way, nothing else of ours. */
const passThrough = [
  "PATH",
  "HOME",
  "USER",
  "TMPDIR",
  "XDG_CONFIG_HOME",
  "SSH_AUTH_SOCK",
  "SSH_AGENT_PID",
  "GIT_SSH",
  "GIT_SSH_COMMAND",
  "GIT_SSL_CAINFO",
  "GIT_SSL_CAPATH",
  "GIT_CONFIG_GLOBAL",
  "GIT_CONFIG_NOSYSTEM",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of passThrough) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  // Never prompt (a cron job has no terminal) and keep git's messages in English for parsing.
  return { ...env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", LANG: "C", ...extra };
}

export const defaultGitTimeoutMs = 60_000;

export interface GitOptions {
  /** Extra environment (the commit identity). */
  env?: Record<string, string>;
  /** Deadline of each git call (`--git-timeout`). */
  timeoutMs?: number;
}

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** stdout as git wrote it (`cat-file --batch` counts bytes, not characters). */
  bytes: Buffer;
}

/** Runs git in `dir`. `run` reports a failed command; `git` turns it into an MhcError (exit 9). */
export interface Git {
  readonly dir: string;
  /** `env` adds to the client's environment for this call (e.g. GIT_INDEX_FILE). */
  run(args: string[], input?: string, env?: Record<string, string>): Promise<GitResult>;
  git(args: string[], input?: string, env?: Record<string, string>): Promise<string>;
}

export function gitIn(dir: string, options: GitOptions = {}): Git {
  const env = gitEnv(options.env ?? {});
  const timeoutMs = options.timeoutMs ?? defaultGitTimeoutMs;
  const run = (args: string[], input?: string, extra?: Record<string, string>) =>
    runGit(dir, args, extra ? { ...env, ...extra } : env, timeoutMs, input);
  return {
    dir,
    run,
    async git(args, input, extra) {
      const result = await run(args, input, extra);
      if (!result.ok) throw gitFailure(subcommand(args), result.stderr || result.stdout);
      return result.stdout;
    },
  };
}

/** The git command in argv, past `-c name=value` options. */
function subcommand(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c") i++;
    else if (!args[i]?.startsWith("-")) return args[i] as string;
  }
  return "";
}

/** git's most telling line (`fatal:`, `error:`, `remote:`), credentials removed. */
export function gitReason(output: string): string {
  const lines = redact(output)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("hint:"));
  return lines.find((l) => /^(fatal|error|remote|!)/.test(l)) ?? lines[0] ?? "unknown error";
}

export function gitFailure(action: string, output: string): MhcError {
  return new MhcError(`git ${action} failed: ${gitReason(output)}`, ExitCode.git);
}

/**
 * Process groups of git calls still running. Git runs in its own group, so a signal to mhc does not
 * reach it: they are killed when mhc exits, or when a signal would end mhc (no one else handles it;
 * watch mode does, and lets a running sync finish).
 */
const running = new Set<number>();
const endingSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function killRunning(): void {
  for (const group of running) killGroup(group);
}

function onEndingSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killRunning();
  untrackAll();
  process.kill(process.pid, signal);
}

function track(pid: number): void {
  if (running.size === 0) {
    process.on("exit", killRunning);
    for (const signal of endingSignals) process.on(signal, onEndingSignal);
  }
  running.add(pid);
}

function untrack(pid: number): void {
  if (running.delete(pid) && running.size === 0) untrackAll();
}

function untrackAll(): void {
  running.clear();
  process.off("exit", killRunning);
  for (const signal of endingSignals) process.off(signal, onEndingSignal);
}

function runGit(
  dir: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  input: string | undefined,
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: dir,
      env,
      detached: true,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    if (child.pid !== undefined) track(child.pid);
    const done = () => {
      clearTimeout(timer);
      if (child.pid !== undefined) untrack(child.pid);
    };
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid);
      done();
      reject(
        new MhcError(
          `git ${subcommand(args)} did not finish within ${timeoutMs / 1000} s (--git-timeout); stopped it`,
          ExitCode.git,
        ),
      );
    }, timeoutMs);
    child.on("error", (error: NodeJS.ErrnoException) => {
      done();
      reject(
        new MhcError(
          error.code !== "ENOENT"
            ? `cannot run git: ${error.message}`
            : existsSync(dir)
              ? "git is not installed (not found on PATH)"
              : `cannot run git in ${dir}: the folder does not exist`,
          ExitCode.git,
          { cause: error },
        ),
      );
    });
    child.on("close", (code) => {
      done();
      const bytes = Buffer.concat(out);
      let stdout: string | undefined;
      resolve({
        ok: code === 0,
        // Decoded when asked for: `cat-file --batch` output is read as bytes.
        get stdout() {
          stdout ??= bytes.toString("utf8");
          return stdout;
        },
        bytes,
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // git may exit before reading all of it; its status tells
      child.stdin.end(input);
    }
  });
}
