/**
 * Timing child processes: wall time from spawn to exit (start-up included) measured here, and peak
 * RSS and CPU time from GNU time ("%M": the kernel's ru_maxrss of that one child, from wait4; "%U",
 * "%S": its user and system CPU seconds), when /usr/bin/time is installed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

export const gnuTime = "/usr/bin/time";

export interface Run {
  wallMs: number;
  /** Peak resident set size of the measured process, in bytes (undefined without /usr/bin/time). */
  peakRssBytes?: number;
  /** User + system CPU time of the measured process (undefined without /usr/bin/time). */
  cpuMs?: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Wrap in /usr/bin/time for peak RSS. Its own fork/exec adds about 1 ms; off for start-up timing. */
  measureRss?: boolean;
  /** Where GNU time writes its report. */
  scratchDir: string;
  timeoutMs?: number;
}

/** Runs `command args` once and measures it. Never throws on a non-zero exit: the caller decides. */
export async function timedRun(command: string, args: string[], options: RunOptions): Promise<Run> {
  const rssFile = join(options.scratchDir, "peak-rss.txt");
  const wrap = options.measureRss !== false && existsSync(gnuTime);
  rmSync(rssFile, { force: true });
  const [cmd, argv] = wrap
    ? [gnuTime, ["--format=%M %U %S", `--output=${rssFile}`, command, ...args]]
    : [command, args];
  const started = performance.now();
  const result = await new Promise<Omit<Run, "wallMs" | "peakRssBytes" | "cpuMs">>((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
  const wallMs = performance.now() - started;
  if (!wrap) return { wallMs, ...result };
  // The last line: GNU time puts "Command exited with non-zero status" first when there is one.
  const [kilobytes, user, system] = (readFileSync(rssFile, "utf8").trim().split("\n").pop() ?? "")
    .split(" ")
    .map(Number);
  return {
    wallMs,
    ...result,
    ...(Number.isFinite(kilobytes) ? { peakRssBytes: (kilobytes as number) * 1024 } : {}),
    ...(Number.isFinite(user) && Number.isFinite(system)
      ? { cpuMs: ((user as number) + (system as number)) * 1000 }
      : {}),
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export interface Series {
  runs: Run[];
  medianMs: number;
  medianCpuMs?: number;
  /** Median and maximum peak RSS over the runs, in bytes. */
  medianRssBytes?: number;
  maxRssBytes?: number;
}

export function summarise(runs: Run[]): Series {
  const rss = runs.flatMap((r) => (r.peakRssBytes === undefined ? [] : [r.peakRssBytes]));
  const cpu = runs.flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs]));
  return {
    runs,
    medianMs: median(runs.map((r) => r.wallMs)),
    ...(cpu.length > 0 ? { medianCpuMs: median(cpu) } : {}),
    ...(rss.length > 0 ? { medianRssBytes: median(rss), maxRssBytes: Math.max(...rss) } : {}),
  };
}

/**
 * Several commands measured in turns (A B C A B C …), each with its warm-ups first: a figure and
 * the floor it is divided by then see the same moments of a shared machine, whose speed drifts by
 * a third within minutes. One series per command, in the order given.
 */
export async function interleaved(
  label: string,
  count: number,
  contestants: { run: () => Promise<Run>; before?: () => void }[],
  warmups = 1,
): Promise<Series[]> {
  const results: Run[][] = contestants.map(() => []);
  for (let i = 0; i < warmups + count; i++) {
    for (const [n, contestant] of contestants.entries()) {
      contestant.before?.();
      const result = await contestant.run();
      if (result.code !== 0)
        throw new Error(`${label} (${n + 1}): exit ${result.code}\n${result.stderr.slice(0, 2000)}`);
      if (i >= warmups) results[n]?.push(result);
    }
  }
  return results.map(summarise);
}

/**
 * Runs `count` measured times after `warmups` unmeasured ones (page cache, binary mapped), with
 * `before` run ahead of each (e.g. to delete the previous output). Fails on an unexpected exit code.
 */
export async function series(
  label: string,
  count: number,
  run: (index: number) => Promise<Run>,
  {
    warmups = 1,
    expectCodes = [0],
    before,
  }: { warmups?: number; expectCodes?: number[]; before?: () => void } = {},
): Promise<Series> {
  const runs: Run[] = [];
  for (let i = 0; i < warmups + count; i++) {
    before?.();
    const result = await run(i);
    if (!expectCodes.includes(result.code)) {
      throw new Error(`${label}: exit ${result.code}\n${result.stderr.slice(0, 2000)}`);
    }
    if (i >= warmups) runs.push(result);
  }
  return summarise(runs);
}
