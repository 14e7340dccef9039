/**
 * Propagation, end to end: a Marathon stand-in (events and /v2/apps) → `mhc sync --watch` → a bare
 * repository → `mhc deploy --watch` → a real HAProxy under HTTP load. Each scale event adds or
 * removes a task; its delay runs from the stand-in's change to the first request answered by the
 * new task, or, for a removal, until HAProxy stops giving the task new connections (drained or
 * deleted). Used by `npm run bench` and by test/e2e/propagation.test.ts. Network: 127.0.0.1 only.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { openRuntimeApi } from "../../src/haproxy/runtime-api.ts";
import { startEventMarathon } from "../../test/helpers/events.ts";

export interface PropagationOptions {
  /** How to run mhc: the binary, or a runtime and the CLI's source. */
  mhc: { cmd: string; args: string[] };
  /** Scale events: additions and removals alternate, starting with an addition. */
  events: number;
  /** A fresh folder for the repository, the installed config and the sockets. */
  dir: string;
  log?: (message: string) => void;
  /** `sync --layout` (default: mhc's default, one file). */
  layout?: "single" | "parts";
}

export interface PropagationResult {
  delaysMs: number[];
  requestsOk: number;
  requestsFailed: number;
  errors: Record<string, number>;
  /** Reloads during the scale events: the worker pid changed, or the master counted reloads. */
  reloads: number;
}

const eventTimeoutMs = 20_000;

/** HTTP servers on 127.0.0.1 that answer with their name: the tasks. */
async function startTask(name: string): Promise<{ name: string; port: number; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader("connection", "close");
    res.end(`${name} ok\n`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { name, port: (server.address() as AddressInfo).port, server };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Marathon's /v2/apps for one app on `servicePort` with the given tasks. */
function apps(servicePort: number, tasks: { name: string; port: number }[]) {
  return {
    apps: [
      {
        id: "/web",
        instances: tasks.length,
        networks: [{ mode: "host" }],
        portDefinitions: [{ port: servicePort, protocol: "tcp" }],
        requirePorts: false,
        labels: {},
        healthChecks: [],
        tasks: tasks.map((t) => ({
          id: `web.${t.name}`,
          host: "127.0.0.1",
          ports: [t.port],
          state: "TASK_RUNNING",
          stagedAt: "2026-01-01T00:00:00.000Z",
          startedAt: "2026-01-01T00:00:01.000Z",
        })),
      },
    ],
  };
}

/** Clients that each open a new connection per request and remember when each task first answered. */
function startLoad(port: number, concurrency = 4) {
  const firstAnswer = new Map<string, number>();
  const stats = { ok: 0, failed: 0, errors: {} as Record<string, number> };
  let stopped = false;
  const fail = (reason: string) => {
    stats.failed++;
    stats.errors[reason] = (stats.errors[reason] ?? 0) + 1;
  };
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => {
          if (res.statusCode === 200) {
            stats.ok++;
            const name = body.split(" ")[0] ?? "";
            if (!firstAnswer.has(name)) firstAnswer.set(name, Date.now());
          } else fail(`HTTP ${res.statusCode}`);
          resolve();
        });
        res.on("error", (e: NodeJS.ErrnoException) => {
          fail(e.code ?? e.message);
          resolve();
        });
      });
      req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => {
        fail(e.code ?? e.message);
        resolve();
      });
      req.end();
    });
  const deadline = Date.now() + 30 * 60_000;
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopped && Date.now() < deadline) await once();
  });
  return {
    stats,
    firstAnswer,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

function spawnMhc(options: PropagationOptions, args: string[], logFile: string): ChildProcess {
  const child = spawn(options.mhc.cmd, [...options.mhc.args, ...args], {
    env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(options.dir, "xdg") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (c) => {
    output += c;
  });
  // Kept for a look afterwards; the folder may be gone by then.
  child.on("close", () => {
    try {
      writeFileSync(logFile, output);
    } catch {}
  });
  return child;
}

/** The end of a log, for an error. */
function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  step = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return false;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(killer);
}

export async function measurePropagation(options: PropagationOptions): Promise<PropagationResult> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dir, { recursive: true });
  const repo = join(options.dir, "config.git");
  const config = join(options.dir, "haproxy.cfg");
  const masterSocket = join(options.dir, "master.sock");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", repo]);
  const servicePort = await freePort();
  const additions = Math.ceil(options.events / 2);
  const tasks = await Promise.all(Array.from({ length: additions + 1 }, (_, i) => startTask(`task-${i}`)));
  const live = [tasks[0] as (typeof tasks)[number]];
  const marathon = await startEventMarathon(apps(servicePort, live));
  const children: ChildProcess[] = [];
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    children.push(
      spawnMhc(
        options,
        [
          "sync",
          "--watch",
          marathon.url,
          "--repo",
          repo,
          "--stats-port",
          "0",
          ...(options.layout ? ["--layout", options.layout] : []),
        ],
        join(options.dir, "sync.log"),
      ),
    );
    const committed = () => {
      try {
        execFileSync("git", ["rev-parse", "--verify", "--quiet", "main"], { cwd: repo, stdio: "ignore" });
        return true;
      } catch {
        return false;
      }
    };
    if (!(await until(committed, 30_000, 100))) throw new Error("mhc sync --watch made no first commit");
    children.push(
      spawnMhc(
        options,
        [
          "deploy",
          "--watch",
          "--repo",
          repo,
          "--config",
          config,
          "--master-socket",
          masterSocket,
          "--workdir",
          join(options.dir, "cache"),
        ],
        join(options.dir, "deploy.log"),
      ),
    );
    const probe = () =>
      new Promise<boolean>((resolve) => {
        const req = request({ host: "127.0.0.1", port: servicePort, path: "/", agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200));
        });
        req.on("error", () => resolve(false));
        req.end();
      });
    if (!(await until(probe, 30_000, 100))) throw new Error("HAProxy never answered");
    load = startLoad(servicePort);
    const answered = (name: string, since: number) => (load?.firstAnswer.get(name) ?? -1) >= since;
    if (!(await until(() => answered("task-0", 0), 30_000, 50)))
      throw new Error("HAProxy never answered from task-0");
    // The master CLI does not answer while the master re-executes (a reload deploy --watch made before
    // the events start): wait for it, then count reloads from there.
    if (!(await until(async () => (await showProc(masterSocket)) !== undefined, 15_000, 100)))
      throw new Error(`HAProxy's master CLI never answered\n${tail(join(options.dir, "deploy.log"))}`);
    const before = await showProc(masterSocket);
    const api = await openRuntimeApi(masterSocket);
    const takesConnections = async (port: number) => {
      const state = await api.run("show servers state").catch(() => "");
      const line = state.split("\n").find((l) => l.includes(` 127.0.0.1_${port} `));
      return line !== undefined && (Number(line.split(" ")[6]) & 0x09) === 0;
    };

    const delaysMs: number[] = [];
    let added = 0;
    for (let event = 0; event < options.events; event++) {
      const adding = event % 2 === 0;
      const task = adding ? (tasks[++added] as (typeof tasks)[number]) : (live[0] as (typeof tasks)[number]);
      if (adding) live.push(task);
      else live.splice(live.indexOf(task), 1);
      marathon.apps = apps(servicePort, live);
      const changedAt = Date.now();
      marathon.send("status_update_event", {
        appId: "/web",
        taskId: `web.${task.name}`,
        taskStatus: adding ? "TASK_RUNNING" : "TASK_KILLED",
      });
      // The first answer from the new task; for a removal, HAProxy no longer choosing the old one.
      const done = adding
        ? await until(() => answered(task.name, changedAt), eventTimeoutMs)
        : await until(async () => !(await takesConnections(task.port)), eventTimeoutMs);
      const delay = done ? Date.now() - changedAt : Number.POSITIVE_INFINITY;
      delaysMs.push(delay);
      log(
        `event ${event + 1}/${options.events}: ${adding ? "added" : "removed"} ${task.name} in ${done ? `${delay} ms` : "never"}`,
      );
      // Scale events come at any time, not in step with deploy --watch's polls: a random gap.
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 2_000));
    }
    await load.stop();
    const after = await showProc(masterSocket);
    if (!before || !after) throw new Error("HAProxy's master CLI stopped answering");
    const sameWorker = JSON.stringify(before.workerPids) === JSON.stringify(after.workerPids);
    return {
      delaysMs,
      requestsOk: load.stats.ok,
      requestsFailed: load.stats.failed,
      errors: load.stats.errors,
      reloads: Math.max(after.reloads - before.reloads, sameWorker ? 0 : 1),
    };
  } finally {
    await load?.stop();
    await Promise.all(children.map(stop));
    const proc = await showProc(masterSocket);
    if (proc) process.kill(proc.masterPid, "SIGTERM");
    await marathon.close();
    await Promise.all(tasks.map((t) => new Promise<void>((r) => t.server.close(() => r()))));
  }
}
