import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, afterEach, beforeAll } from "vitest";
import { writeParts } from "../../scripts/bench/host.ts";
import { defaultHead } from "../../src/core/head.ts";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { isAlive } from "../../src/io/processes.ts";
import { type MhcResult, type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { git as gitWithIdentity } from "../helpers/git.ts";
import { type Backend, startNamedHttpServer } from "../helpers/net.ts";

/** git with a test identity, output trimmed. */
export const git = (cwd: string, ...args: string[]): string => gitWithIdentity(cwd, ...args).trim();

/** A temp folder with a bare "remote", a working clone to commit from, and an /etc-like target folder. */
export class DeployFixture {
  readonly dir = mkdtempSync(join(tmpdir(), "mhc-deploy-"));
  readonly remote = join(this.dir, "remote.git");
  readonly clone = join(this.dir, "clone");
  readonly etc = join(this.dir, "etc");
  readonly config = join(this.etc, "haproxy.cfg");
  readonly pidFile = join(this.dir, "haproxy.pid");
  readonly masterSocket = join(this.dir, "master.sock");
  readonly adminSocket = join(this.dir, "admin.sock");
  readonly workdir = join(this.dir, "cache");

  constructor() {
    mkdirSync(this.etc);
    git(this.dir, "init", "--quiet", "--bare", "--initial-branch=main", this.remote);
    git(this.dir, "init", "--quiet", "--initial-branch=main", this.clone);
    git(this.clone, "remote", "add", "origin", this.remote);
  }

  /** How commit() stores the config: one file, or a folder of parts as `sync --layout parts` does. */
  layout: "single" | "parts" = "single";

  /** Commits `content` as haproxy/haproxy.cfg on `branch` and pushes it; returns the commit id. */
  commit(content: string, branch = "main"): string {
    git(this.clone, "checkout", "--quiet", "-B", branch);
    rmSync(join(this.clone, "haproxy"), { recursive: true, force: true });
    mkdirSync(join(this.clone, "haproxy"), { recursive: true });
    if (this.layout === "single") writeFileSync(join(this.clone, "haproxy", "haproxy.cfg"), content);
    else writeParts(join(this.clone, "haproxy", "haproxy.cfg"), content);
    git(this.clone, "add", "-A");
    git(this.clone, "commit", "--quiet", "--allow-empty", "-m", `config on ${branch}`);
    git(this.clone, "push", "--quiet", "--force", "origin", `HEAD:refs/heads/${branch}`);
    return git(this.clone, "rev-parse", "HEAD");
  }

  /**
   * Installs `content` and starts HAProxy on it in master-worker mode, as systemd's unit does, for
   * tests where mhc reloads an HAProxy it did not start, with a master CLI on `masterSocket` for tests
   * that look at its workers. Returns the master's pid.
   */
  startMasterWorker(content: string): string {
    writeFileSync(this.config, content);
    const args = ["-W", "-D", "-S", `${this.masterSocket},mode,600`, "-f", this.config, "-p", this.pidFile];
    const started = spawnSync("haproxy", args, { encoding: "utf8" });
    if (started.status !== 0) throw new Error(`haproxy did not start: ${started.stderr}`);
    return readFileSync(this.pidFile, "utf8").trim().split("\n")[0] as string;
  }

  deploy(mode: string[], extra: string[] = []): Promise<MhcResult> {
    return runMhc(this.deployArgs(mode, extra), { env: { XDG_CACHE_HOME: join(this.dir, "xdg") } });
  }

  /** A deploy that the test observes and signals while it runs. */
  startDeploy(mode: string[], extra: string[] = []): RunningMhc {
    return startMhc(this.deployArgs(mode, extra), { env: { XDG_CACHE_HOME: join(this.dir, "xdg") } });
  }

  private deployArgs(mode: string[], extra: string[]): string[] {
    return [
      "deploy",
      "--repo",
      this.remote,
      "--config",
      this.config,
      "--workdir",
      this.workdir,
      ...mode,
      ...extra,
    ];
  }

  installed(): string {
    return readFileSync(this.config, "utf8");
  }

  /** Stops the HAProxy processes this test started (by pid, from the pid file or the master CLI). */
  async stopHaproxy(): Promise<void> {
    const pids = new Set<number>();
    for (const word of readIfPresent(this.pidFile).split(/\s+/))
      if (/^\d+$/.test(word)) pids.add(Number(word));
    const proc = await showProc(this.masterSocket);
    if (proc) pids.add(proc.masterPid);
    for (const pid of pids) {
      if (isAlive(pid)) process.kill(pid, "SIGTERM");
    }
    await waitUntil(() => [...pids].every((pid) => !isAlive(pid)), 5_000);
  }

  async cleanup(): Promise<void> {
    await this.stopHaproxy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readIfPresent(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}

export interface Frontend {
  port: number;
  servers: number[];
  /** The bind address (default 127.0.0.1); a host name is one mhc's bind pre-flight cannot test. */
  host?: string;
}

/** The server state file of this test file's configs, instead of the head's shared system path. */
export const serverStateFile = join(tmpdir(), `mhc-server-state-${randomUUID()}`);

/** A config like `mhc render` emits: the default head, then one TCP frontend/backend pair per service. */
export function haproxyConfig(frontends: Frontend[], globalExtra: string[] = []): string {
  const head = defaultHead
    .replace(/server-state-file \S+/, `server-state-file ${serverStateFile}`)
    .replace("global\n", `global\n${globalExtra.map((l) => `  ${l}\n`).join("")}`);
  const services = frontends.map(
    ({ port, servers, host = "127.0.0.1" }) =>
      `frontend svc_${port}\n  bind ${host}:${port}\n  default_backend be_${port}\n\n` +
      `backend be_${port}\n${servers.map((s, i) => `  server s${i} 127.0.0.1:${s}\n`).join("")}`,
  );
  return `${head}\n${services.join("\n")}`;
}

/**
 * The setup every deploy suite shares: two named HTTP backends for the whole file, and a fresh
 * fixture per test (`newFixture()`), cleaned up after the test (HAProxy stopped, folders removed).
 */
export function deploySuite() {
  let backends: Backend[] = [];
  let current: DeployFixture | undefined;
  beforeAll(async () => {
    backends = await Promise.all(["alpha", "beta"].map(startNamedHttpServer));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return {
    alpha: () => backends[0] as Backend,
    beta: () => backends[1] as Backend,
    newFixture: () => {
      current = new DeployFixture();
      return current;
    },
  };
}
