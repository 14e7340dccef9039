/**
 * `mhc sync --watch` (and `render --watch -o`) at cluster scale, incremental against
 * --no-incremental, in one run: the
 * stand-in Marathon (event-marathon.ts, its own process) sends bursts of task events, and for
 * each burst the runner measures the bytes mhc read from Marathon, mhc's CPU time (its own, and
 * apart from it its git children's, from /proc), and the time from the burst's last event to the commit.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { median } from "./measure.ts";

export interface WatchFigures {
  mode: "incremental" | "full";
  command: "sync" | "render";
  bursts: number;
  /** Per sync (one per burst), medians. Bytes: every byte the stand-in served, events included. */
  bytesPerSync: number;
  /** mhc's own CPU time per sync. */
  cpuMsPerSync: number;
  /** The CPU time of the git processes mhc ran, per sync. */
  gitCpuMsPerSync: number;
  /** From the burst's last event to the pushed commit, minus the --wait minimum. */
  latencyBeyondWaitMs: number;
  latenciesMs: number[];
  /** The same to the local commit (the branch moved to it, before the push), or to the file written (render). */
  commitLatencyBeyondWaitMs: number;
  syncsPerBurst: number;
  peakRssBytes: number;
  fullReads: number;
  appReads: number;
  divergences: number;
}

export interface WatchBenchOptions {
  mhc: string;
  bun: string;
  root: string;
  work: string;
  snapshot: string;
  seed: number;
  bursts: number;
  appsPerBurst: number;
  waitMinMs: number;
}

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User + system CPU of a process (`own`) and of its waited-for children (git), in ms, from /proc. */
function cpuMs(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields 14-17 (utime, stime, cutime, cstime), counted from 3 after the command name.
  const fields = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  const ms = (ticks: number) => (ticks * 1000) / ticksPerSecond;
  return {
    own: ms((fields[11] ?? 0) + (fields[12] ?? 0)),
    children: ms((fields[13] ?? 0) + (fields[14] ?? 0)),
  };
}

function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"));
  return Number(line?.replace(/\D+/g, "") ?? 0) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function startStandIn(options: WatchBenchOptions) {
  const child = spawn(
    options.bun,
    ["scripts/bench/event-marathon.ts", options.snapshot, String(options.seed)],
    {
      cwd: options.root,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once("line", (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`stand-in Marathon exited ${code}`)));
  });
  const control = async <T>(path: string, method = "GET") =>
    (await (await fetch(`${url}${path}`, { method })).json()) as T;
  return {
    url,
    counters: () =>
      control<{ bytes: number; eventBytes: number; fullReads: number; appReads: number }>("/bench/counters"),
    burst: (apps: number) =>
      control<{ events: number; lastEventAt: number }>(`/bench/burst?apps=${apps}`, "POST"),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** One mode: a fresh stand-in and repo, start-up, then `bursts` bursts, each awaited to its commit. */
export async function watchBench(
  options: WatchBenchOptions,
  mode: "incremental" | "full",
  command: "sync" | "render" = "sync",
  layout: "single" | "parts" = "single",
): Promise<WatchFigures> {
  const dir = join(options.work, `watch-${command}-${mode}${layout === "parts" ? "-parts" : ""}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const remote = join(dir, "remote.git");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
  const statusFile = join(dir, "status.json");
  const standIn = await startStandIn(options);
  const output = join(dir, "haproxy.cfg");
  const target =
    command === "sync"
      ? ["--repo", remote, "--workdir", join(dir, "workdir"), "--validate", "never", "--layout", layout]
      : ["-o", output];
  const args = [
    command,
    "--watch",
    standIn.url,
    ...target,
    "--wait",
    `${options.waitMinMs}ms:10s`,
    "--resync",
    "1h",
    "--status-file",
    statusFile,
    "--max-response",
    "2g",
    ...(mode === "full" ? ["--no-incremental"] : []),
  ];
  const mhc = spawn(options.mhc, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  mhc.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const status = () => {
    if (!existsSync(statusFile)) return undefined;
    try {
      return JSON.parse(readFileSync(statusFile, "utf8")) as {
        syncs: number;
        failures: number;
        lastSuccessAt: string | null;
        lastChangeAt: string | null;
        streamConnected: boolean;
        divergences?: number;
      };
    } catch {
      return undefined; // mid-rename
    }
  };
  try {
    await until(`the first sync (${mode})\n${stderr}`, () => {
      const s = status();
      return s && s.syncs >= 1 && s.streamConnected && s.lastChangeAt ? s : undefined;
    });
    const bytes: number[] = [];
    const cpu: number[] = [];
    const gitCpu: number[] = [];
    const latencies: number[] = [];
    const commitLatencies: number[] = [];
    // The work dir's branch ref is written by the commit (the push leaves it alone).
    const written = command === "sync" ? join(dir, "workdir", ".git", "refs", "heads", "main") : output;
    const remoteRef = join(remote, "refs", "heads", "main");
    let syncs = 0;
    for (let i = 0; i < options.bursts; i++) {
      const before = status() as NonNullable<ReturnType<typeof status>>;
      const counters = await standIn.counters();
      const cpuBefore = cpuMs(mhc.pid as number);
      const { lastEventAt } = await standIn.burst(options.appsPerBurst);
      const after = await until(`the commit of burst ${i + 1} (${mode})\n${stderr}`, () => {
        const s = status();
        return s && s.lastChangeAt !== before.lastChangeAt && s.lastSuccessAt ? s : undefined;
      });
      if (after.failures > 0) throw new Error(`bench: a sync failed (${mode})\n${stderr}`);
      // Nothing more is due for this burst; the CPU of the sync is all spent by now.
      await sleep(options.waitMinMs + 300);
      const settled = status() as NonNullable<ReturnType<typeof status>>;
      syncs += settled.syncs - before.syncs;
      const cpuAfter = cpuMs(mhc.pid as number);
      cpu.push(cpuAfter.own - cpuBefore.own);
      gitCpu.push(cpuAfter.children - cpuBefore.children);
      const served = await standIn.counters();
      bytes.push(served.bytes + served.eventBytes - counters.bytes - counters.eventBytes);
      // Pushed: when the remote's branch moved (receive-pack renames the ref into place), not when
      // the sync wrote its status after the push; render --watch has no remote.
      const pushedAt =
        command === "sync" ? statSync(remoteRef).mtimeMs : Date.parse(after.lastSuccessAt as string);
      latencies.push(pushedAt - lastEventAt - options.waitMinMs);
      commitLatencies.push(statSync(written).mtimeMs - lastEventAt - options.waitMinMs);
    }
    const counters = await standIn.counters();
    return {
      mode,
      command,
      bursts: options.bursts,
      bytesPerSync: median(bytes),
      cpuMsPerSync: median(cpu),
      gitCpuMsPerSync: median(gitCpu),
      latencyBeyondWaitMs: median(latencies),
      latenciesMs: latencies,
      commitLatencyBeyondWaitMs: median(commitLatencies),
      syncsPerBurst: syncs / options.bursts,
      peakRssBytes: peakRss(mhc.pid as number),
      fullReads: counters.fullReads,
      appReads: counters.appReads,
      divergences: status()?.divergences ?? 0,
    };
  } finally {
    await new Promise<void>((resolve) => {
      if (mhc.exitCode !== null) return resolve();
      mhc.once("exit", () => resolve());
      mhc.kill("SIGTERM");
    });
    await standIn.stop();
  }
}
