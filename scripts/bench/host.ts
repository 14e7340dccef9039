/**
 * The host figure: a 10,000-app config installed in a real HAProxy (master-worker), and a
 * one-server change deployed by `mhc deploy`, over the Runtime API and, for comparison, by reload
 * (`--no-runtime`). Network: 127.0.0.1 only, which is why the rendered config is rewritten for
 * this machine: servers at 127.x addresses without health checks (the generator's 10.x hosts must
 * not be contacted), listeners on 127.0.0.1, the server state file in the bench folder.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { partsFolder, partsIndex, splitIntoParts } from "../../src/core/parts.ts";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { openFilesLimit } from "../../src/io/processes.ts";
import { type Run, type Series, series } from "./measure.ts";

export interface HostFigures {
  runtime: Series;
  /** The same, with the config committed as a folder of parts (`sync --layout parts`). */
  runtimeParts: Series;
  reload: Series;
  /** The worker pid stayed the same through every runtime deploy. */
  workerKept: boolean;
  /** Every runtime deploy said it applied over the Runtime API. */
  allRuntime: boolean;
  /** The hard open-files limit HAProxy ran under. */
  fdLimit: number | undefined;
  servers: number;
}

/** Writes `content` as the parts folder of `file`, as `mhc sync --layout parts` commits it (replacing one there). */
export function writeParts(file: string, content: string): void {
  const folder = partsFolder(file);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const { index, parts } = splitIntoParts(content, "config");
  for (const part of parts) writeFileSync(join(folder, part.name), part.text);
  writeFileSync(join(folder, partsIndex), index);
}

/** The rendered config made safe for this machine (see above). */
export function forThisMachine(config: string, stateFile: string): string {
  return config
    .replace(
      /^(\s+server \S+ )\d+\.(\d+)\.(\d+)\.(\d+):(\d+).*$/gm,
      // The generator's last octet can exceed 255 (an address that does not resolve): wrap it.
      (_line, start: string, b: string, c: string, d: string, port: string) =>
        `${start}127.${Number(b) & 255}.${Number(c) & 255}.${Number(d) & 255}:${port}`,
    )
    .replace(/^(\s+bind )\*:/gm, "$1127.0.0.1:")
    .replace(/server-state-file \S+/, `server-state-file ${stateFile}`);
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

export async function measureHostChange(options: {
  mhc: string;
  dir: string;
  /** The installed config and the same with one server moved. */
  base: string;
  oneMoved: string;
  runs: number;
  timedRun: (args: string[]) => Promise<Run>;
}): Promise<HostFigures> {
  const { dir } = options;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "etc"), { recursive: true });
  const remote = join(dir, "config.git");
  const clone = join(dir, "clone");
  const config = join(dir, "etc", "haproxy.cfg");
  const socket = join(dir, "master.sock");
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
  execFileSync("git", ["init", "--quiet", "--initial-branch=main", clone]);
  git(clone, "remote", "add", "origin", remote);
  const stateFile = join(dir, "server-state");
  const versions = [options.base, options.oneMoved].map((c) => forThisMachine(c, stateFile));
  let layout: "single" | "parts" = "single";
  const commit = (content: string) => {
    rmSync(join(clone, "haproxy"), { recursive: true, force: true });
    mkdirSync(join(clone, "haproxy"));
    if (layout === "single") writeFileSync(join(clone, "haproxy", "haproxy.cfg"), content);
    else writeParts(join(clone, "haproxy", "haproxy.cfg"), content);
    git(clone, "add", "-A");
    git(
      clone,
      "-c",
      "user.name=bench",
      "-c",
      "user.email=bench@localhost",
      "commit",
      "--quiet",
      "--allow-empty",
      "-m",
      "config",
    );
    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main");
  };
  const deploy = (extra: string[] = []) => [
    "deploy",
    "--repo",
    remote,
    "--config",
    config,
    "--master-socket",
    socket,
    "--workdir",
    join(dir, "cache"),
    ...extra,
  ];
  commit(versions[0] as string);
  const started = await options.timedRun(deploy());
  if (started.code !== 0) throw new Error(`first deploy: exit ${started.code}: ${started.stderr}`);
  try {
    const before = await showProc(socket);
    let turn = 1;
    const next = () => commit(versions[turn++ % 2] as string);
    const runtime = await series("deploy runtime 10k", options.runs, () => options.timedRun(deploy()), {
      before: next,
    });
    layout = "parts";
    const runtimeParts = await series(
      "deploy runtime 10k, parts",
      options.runs,
      () => options.timedRun(deploy()),
      { before: next },
    );
    layout = "single";
    const after = await showProc(socket);
    const reload = await series(
      "deploy reload 10k",
      options.runs,
      () => options.timedRun(deploy(["--no-runtime"])),
      { before: next, warmups: 0 },
    );
    return {
      runtime,
      runtimeParts,
      reload,
      workerKept:
        before !== undefined && JSON.stringify(before.workerPids) === JSON.stringify(after?.workerPids),
      allRuntime: [...runtime.runs, ...runtimeParts.runs].every((r) => r.stderr.includes("no reload")),
      fdLimit: before ? openFilesLimit(before.masterPid) : undefined,
      servers: (versions[0] as string).split("\n").filter((l) => /^\s+server /.test(l)).length,
    };
  } finally {
    const proc = await showProc(socket);
    if (proc) process.kill(proc.masterPid, "SIGTERM");
  }
}
