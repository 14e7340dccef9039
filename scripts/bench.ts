/**
 * `npm run bench`: mhc at cluster scale against the cost of just parsing Marathon's JSON.
 * Prints a markdown table (figure, median, target, pass/fail), writes .tmp/bench/results.json, and
 * exits 1 when a target fails so it can gate a release. Network: 127.0.0.1 only.
 *
 *   bun scripts/bench.ts [--runs N] [--only watch|host]
 *
 * --runs: measured runs per figure (default 5, after 1 warm-up). --only watch: just the sync --watch
 * figures; --only host: just the host figures (runtime change against reload in a 10,000-app
 * HAProxy, propagation end to end).
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { buildHistory } from "./bench/history.ts";
import { measureHostChange } from "./bench/host.ts";
import { startSnapshotServer } from "./bench/marathon.ts";
import {
  gnuTime,
  interleaved,
  median,
  type Run,
  type Series,
  series,
  summarise,
  timedRun,
} from "./bench/measure.ts";
import { measurePropagation } from "./bench/propagation.ts";
import { type WatchFigures, watchBench } from "./bench/watch.ts";
import { compile } from "./compile.ts";

const root = resolve(import.meta.dirname, "..");
const work = join(root, ".tmp/bench");
const mhc = join(root, "dist/mhc");
const floorBin = join(work, "floor");
const bun = join(root, "node_modules/.bin/bun");
const seed = 20261125;
const tasksPerApp = 10;
const historyCommits = 1_000;
const runsArg = process.argv.indexOf("--runs");
const runs = runsArg > 0 ? Math.max(1, Number.parseInt(process.argv[runsArg + 1] ?? "", 10) || 5) : 5;
const startupRuns = 20;
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const propagationEvents = 20;

const MB = 1024 * 1024;
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

/** Newest modification time under `dir` (files only), to tell whether dist/mhc is older than its source. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function buildBinaries(): void {
  if (!existsSync(mhc) || statSync(mhc).mtimeMs < newestMtime(join(root, "src"))) {
    log("dist/mhc is missing or older than src/: npm run build");
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
  // The floor program, compiled by the same Bun with the same flags as dist/mhc.
  compile("scripts/bench/floor.ts", floorBin);
}

interface SnapshotFile {
  file: string;
  bytes: number;
}

interface Scale extends SnapshotFile {
  apps: number;
  /** The same cluster with half of all serving tasks moved, and with one moved. */
  halfMoved: SnapshotFile;
  oneMoved: SnapshotFile;
}

/** Generated in a child process, so this one stays small while it times others. */
function scale(apps: number): Scale {
  const args = ["scripts/bench/write-snapshots.ts", String(apps), String(tasksPerApp), String(seed), work];
  const written = JSON.parse(execFileSync(bun, args, { cwd: root, encoding: "utf8" })) as Record<
    "base" | "halfMoved" | "oneMoved",
    SnapshotFile
  >;
  return { apps, ...written.base, halfMoved: written.halfMoved, oneMoved: written.oneMoved };
}

interface Row {
  figure: string;
  /** "rss": a row about the peak RSS of the runs in `series` (its times are on the row above). */
  measures?: "rss";
  series: Series;
  /** Ratio of the median to this floor median, when the figure is compared to one. */
  floor?: Series;
  target?: { text: string; pass: boolean };
}

const rows: Row[] = [];
const mhcRun = (args: string[], cwd = work) => timedRun(mhc, args, { cwd, scratchDir: work });
const floorRun = (source: string) => timedRun(floorBin, [source], { cwd: work, scratchDir: work });

async function renderFigures(size: Scale): Promise<void> {
  const out = join(work, `render-${size.apps}.cfg`);
  const removeOutput = () => rmSync(out, { force: true });
  const label = `${size.apps.toLocaleString("en")} apps × ${tasksPerApp} tasks`;
  const rssLimit = 4 * size.bytes + 100 * MB;
  const rssTarget = (s: Series) => ({
    text: `peak RSS < 4 × ${(size.bytes / MB).toFixed(0)} MB + 100 MB = ${(rssLimit / MB).toFixed(0)} MB`,
    pass: (s.maxRssBytes ?? Number.POSITIVE_INFINITY) < rssLimit,
  });

  log(`${label}: floor and render from a file${size.apps >= 10_000 ? ", and bun -e" : ""}, in turns`);
  // The same Bun, uncompiled, reading and parsing the file and nothing else: `bun -e`.
  const script = `JSON.parse(require("node:fs").readFileSync(${JSON.stringify(size.file)}, "utf8"))`;
  const [fileFloor, fromFile, bunFloor] = (await interleaved(`render ${size.apps}`, runs, [
    { run: () => floorRun(size.file) },
    { run: () => mhcRun(["render", "--from", size.file, "-o", out]), before: removeOutput },
    ...(size.apps >= 10_000
      ? [{ run: () => timedRun(bun, ["-e", script], { cwd: work, scratchDir: work }) }]
      : []),
  ])) as [Series, Series, Series | undefined];
  rows.push({
    figure: `floor: read + JSON.parse, ${label} (${(size.bytes / MB).toFixed(1)} MB)`,
    series: fileFloor,
  });
  const endToEnd: Row = { figure: `mhc render --from file -o, ${label}`, series: fromFile, floor: fileFloor };
  if (size.apps >= 10_000) {
    const ratio = fromFile.medianMs / fileFloor.medianMs;
    endToEnd.target = {
      text: "≤ 3 × floor and < 1,500 ms",
      pass: ratio <= 3 && fromFile.medianMs < 1_500,
    };
  }
  rows.push(endToEnd);
  rows.push({
    figure: "  peak RSS of the above",
    measures: "rss",
    series: fromFile,
    target: rssTarget(fromFile),
  });
  if (bunFloor) {
    rows.push({ figure: `floor: bun -e read + JSON.parse, ${label}`, series: bunFloor });
    rows.push({
      figure: `mhc render --from file -o against bun -e, ${label}`,
      series: fromFile,
      floor: bunFloor,
      target: {
        text: "≤ 3 × bun -e and peak RSS < 400 MB",
        pass:
          fromFile.medianMs <= 3 * bunFloor.medianMs &&
          (fromFile.maxRssBytes ?? Number.POSITIVE_INFINITY) < 400 * MB,
      },
    });
  }

  log(`${label}: floor and render from a local Marathon (HTTP on 127.0.0.1), in turns`);
  const server = await startSnapshotServer(readFileSync(size.file));
  try {
    const url = `${server.url}/v2/apps?embed=apps.tasks`;
    const [httpFloor, fromHttp] = (await interleaved(`render http ${size.apps}`, runs, [
      { run: () => floorRun(url) },
      { run: () => mhcRun(["render", "--marathon", server.url, "-o", out]), before: removeOutput },
    ])) as [Series, Series];
    rows.push({ figure: `floor: fetch + JSON.parse, ${label}`, series: httpFloor });
    rows.push({
      figure: `mhc render --marathon (fetch included), ${label}`,
      series: fromHttp,
      floor: httpFloor,
    });
    rows.push({
      figure: "  peak RSS of the above",
      measures: "rss",
      series: fromHttp,
      target: rssTarget(fromHttp),
    });
  } finally {
    await server.close();
  }
}

async function diffFigure(size: Scale): Promise<void> {
  log(`mhc diff: ${size.apps} apps, half of all servers moved`);
  const current = join(work, `diff-current-${size.apps}.cfg`);
  const rendered = await mhcRun(["render", "--from", size.file, "-o", current]);
  if (rendered.code !== 0) throw new Error(`render for diff: ${rendered.stderr}`);
  const moved = size.halfMoved;
  const diff = await series(
    `diff ${size.apps}`,
    runs,
    () => mhcRun(["diff", current, "--from", moved.file]),
    { expectCodes: [1] },
  );
  const patch = diff.runs[0]?.stdout ?? "";
  const changed = patch.split("\n").filter((l) => /^[-+]\s/.test(l)).length;
  // The diff alone, in a Bun process of its own: the part of the figure above that is not rendering.
  const fresh = join(work, `diff-fresh-${size.apps}.cfg`);
  const renderedFresh = await mhcRun(["render", "--from", moved.file, "-o", fresh]);
  if (renderedFresh.code !== 0) throw new Error(`render for diff: ${renderedFresh.stderr}`);
  const diffOnly = JSON.parse(
    execFileSync(bun, ["scripts/bench/diff-only.ts", current, fresh, String(runs)], {
      cwd: root,
      encoding: "utf8",
    }),
  ) as { runsMs: number[] };
  const inProcess = diffOnly.runsMs.map((wallMs): Run => ({ wallMs, code: 0, stdout: "", stderr: "" }));
  rows.push({
    figure: `mhc diff, ${size.apps.toLocaleString("en")}-app configs, half of all servers moved (${changed.toLocaleString("en")} lines ±; render included)`,
    series: diff,
    target: { text: "< 1,000 ms", pass: diff.medianMs < 1_000 },
  });
  rows.push({
    figure: "  of which the diff itself (unifiedDiff in process, no render)",
    series: summarise(inProcess),
  });
}

async function syncFigures(size: Scale): Promise<void> {
  log(`mhc sync: ${size.apps} apps, one server moved, ${historyCommits} earlier commits`);
  const base = join(work, "sync");
  const pristine = join(base, `history-${size.apps}-${historyCommits}.git`);
  const remote = join(base, "remote.git");
  const workdir = join(base, "workdir");
  const config = join(base, "published.cfg");
  mkdirSync(base, { recursive: true });
  const rendered = await mhcRun(["render", "--from", size.file, "-o", config]);
  if (rendered.code !== 0) throw new Error(`render for sync: ${rendered.stderr}`);
  const published = readFileSync(config, "utf8");
  const stamp = join(pristine, "mhc-bench-config");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== published) {
    log(`building a ${historyCommits}-commit history with git fast-import (cached in ${pristine})`);
    rmSync(pristine, { recursive: true, force: true });
    await buildHistory({
      repo: pristine,
      branch: "main",
      path: "haproxy/haproxy.cfg",
      finalConfig: published,
      commits: historyCommits,
    });
    writeFileSync(stamp, published);
  }
  rmSync(remote, { recursive: true, force: true });
  rmSync(workdir, { recursive: true, force: true });
  cpSync(pristine, remote, { recursive: true });

  // Alternate between the published snapshot and one with a single server moved: every run is a
  // one-server change. The first run clones (cold); the measured ones reuse the work dir, as a
  // cron job or sync --watch does.
  const snapshots = [size.oneMoved.file, size.file];
  const syncArgs = (file: string) => [
    "sync",
    "--from",
    file,
    "--repo",
    remote,
    "--workdir",
    workdir,
    "--validate",
    "never",
  ];
  const cold = await mhcRun(syncArgs(snapshots[0] as string));
  if (cold.code !== 0) throw new Error(`cold sync: exit ${cold.code}: ${cold.stderr}`);
  rows.push({
    figure: `mhc sync, first run (clones ${historyCommits} commits), ${size.apps.toLocaleString("en")} apps`,
    series: summarise([cold]),
  });
  const warm = await series(
    `sync ${size.apps}`,
    runs,
    (i) => mhcRun(syncArgs(snapshots[(i + 1) % 2] as string)),
    { warmups: 0 },
  );
  const commits = execFileSync("git", ["rev-list", "--count", "main"], {
    cwd: remote,
    encoding: "utf8",
  }).trim();
  rows.push({
    figure: `mhc sync, one server moved, ${historyCommits} earlier commits, ${size.apps.toLocaleString("en")} apps (remote now ${commits} commits)`,
    series: warm,
    target: { text: "< 2,000 ms", pass: warm.medianMs < 2_000 },
  });
}

// Nine: the CPU ratio of two medians moves by ±30 % between runs of five on a shared VM.
const watchBursts = 9;
const watchWaitMinMs = 200;
let watchResults:
  | {
      incrementalParts: WatchFigures;
      fullParts: WatchFigures;
      incremental: WatchFigures;
      full: WatchFigures;
      renderWatch: WatchFigures;
    }
  | undefined;

/** sync --watch, incremental and --no-incremental side by side, on bursts of task events. */
async function watchFigures(size: Scale): Promise<void> {
  const label = `${size.apps.toLocaleString("en")} apps × ${tasksPerApp} tasks`;
  const options = {
    mhc,
    bun,
    root,
    work,
    snapshot: size.file,
    seed,
    bursts: watchBursts,
    appsPerBurst: 50,
    waitMinMs: watchWaitMinMs,
  };
  log(`sync --watch --layout parts, ${label}: ${watchBursts} bursts of 100 task events, incremental`);
  const incrementalParts = await watchBench(options, "incremental", "sync", "parts");
  log(`sync --watch --layout parts, ${label}: the same, --no-incremental`);
  const fullParts = await watchBench(options, "full", "sync", "parts");
  log(`sync --watch, ${label}: the same, config and model committed as one file each`);
  const incremental = await watchBench(options, "incremental");
  log(`sync --watch, ${label}: the same, --no-incremental`);
  const full = await watchBench(options, "full");
  log(`render --watch -o, ${label}: the same bursts, incremental`);
  const renderWatch = await watchBench(options, "incremental", "render");
  watchResults = { incrementalParts, fullParts, incremental, full, renderWatch };
  const kb = (bytes: number) => `${(bytes / 1024).toLocaleString("en", { maximumFractionDigits: 0 })} KiB`;
  // Wall: from the burst's last event to the commit, which the target is about (the push after it,
  // git's own work on both ends, is in the description).
  const asSeries = (f: WatchFigures) =>
    summarise([
      {
        wallMs: f.commitLatencyBeyondWaitMs,
        cpuMs: f.cpuMsPerSync,
        peakRssBytes: f.peakRssBytes,
        code: 0,
        stdout: "",
        stderr: "",
      },
    ]);
  const describe = (f: WatchFigures) =>
    `${kb(f.bytesPerSync)} read from Marathon per sync (events included), ${f.syncsPerBurst} sync(s) per burst; last event → pushed commit (remote branch moved) ${Math.round(f.latencyBeyondWaitMs)} ms beyond --wait ${watchWaitMinMs} ms; git's CPU ${Math.round(f.gitCpuMsPerSync)} ms per sync. Wall = last event → commit beyond --wait, CPU = mhc's own per sync`;
  rows.push({
    figure: `sync --watch --layout parts (incremental), 100 task events over 50 apps, ${label}: ${describe(incrementalParts)}`,
    series: asSeries(incrementalParts),
    target: { text: "< 300 ms after --wait", pass: incrementalParts.commitLatencyBeyondWaitMs < 300 },
  });
  rows.push({
    figure: `sync --watch --layout parts --no-incremental, the same: ${describe(fullParts)}`,
    series: asSeries(fullParts),
  });
  rows.push({
    figure: `sync --watch (incremental, --layout single), the same: ${describe(incremental)}`,
    series: asSeries(incremental),
  });
  rows.push({
    figure: `sync --watch --no-incremental, the same: ${describe(full)}`,
    series: asSeries(full),
  });
  rows.push({
    figure: `render --watch -o (incremental), the same bursts: ${kb(renderWatch.bytesPerSync)} read per sync; wall = last event → file written beyond --wait ${watchWaitMinMs} ms (no git)`,
    series: summarise([
      {
        wallMs: renderWatch.commitLatencyBeyondWaitMs,
        cpuMs: renderWatch.cpuMsPerSync,
        peakRssBytes: renderWatch.peakRssBytes,
        code: 0,
        stdout: "",
        stderr: "",
      },
    ]),
  });
  // Like with like: both modes commit the same changes in the same layout. The target is read in
  // parts, the layout the README recommends at this size; with one file, storing 24 MB of blobs
  // per commit costs both modes alike.
  const fewerBytes = fullParts.bytesPerSync / Math.max(1, incrementalParts.bytesPerSync);
  const lessCpu = fullParts.cpuMsPerSync / Math.max(1, incrementalParts.cpuMsPerSync);
  const lessCpuSingle = full.cpuMsPerSync / Math.max(1, incremental.cpuMsPerSync);
  rows.push({
    figure: `  incremental against full, per sync, --layout parts: ${fewerBytes.toFixed(0)}× fewer bytes, ${lessCpu.toFixed(1)}× less CPU (--layout single: ${lessCpuSingle.toFixed(1)}× less CPU)`,
    series: summarise([]),
    measures: "rss",
    target: { text: "≥ 50× fewer bytes, ≥ 10× less CPU", pass: fewerBytes >= 50 && lessCpu >= 10 },
  });
}

async function startupFigure(): Promise<void> {
  log("start-up: mhc --version");
  const startup = await series(
    "startup",
    startupRuns,
    () => timedRun(mhc, ["--version"], { scratchDir: work, measureRss: false }),
    { warmups: 3 },
  );
  rows.push({
    figure: `mhc --version (start-up, ${startupRuns} runs)`,
    series: startup,
    target: { text: "< 50 ms", pass: startup.medianMs < 50 },
  });
}

/** A one-server change in a 10,000-app HAProxy: `mhc deploy` over the Runtime API, then by reload. */
async function hostFigures(size: Scale): Promise<void> {
  log(`host: ${size.apps} apps installed in a real HAProxy, one server moved, runtime then reload`);
  const rendered: string[] = [];
  for (const [name, file] of [
    ["base", size.file],
    ["one-moved", size.oneMoved.file],
  ] as const) {
    const out = join(work, `host-${name}-${size.apps}.cfg`);
    const result = await mhcRun(["render", "--from", file, "--stats-port", "0", "-o", out]);
    if (result.code !== 0) throw new Error(`render for the host figure: ${result.stderr}`);
    rendered.push(readFileSync(out, "utf8"));
  }
  const host = await measureHostChange({
    mhc,
    dir: join(work, "host"),
    base: rendered[0] as string,
    oneMoved: rendered[1] as string,
    runs,
    timedRun: (args) => mhcRun(args),
  });
  const label = `${size.apps.toLocaleString("en")} apps (${host.servers.toLocaleString("en")} servers)`;
  rows.push({
    figure: `mhc deploy, one server moved, ${label} in HAProxy: Runtime API, config committed in parts (worker pid ${host.workerKept ? "unchanged" : "CHANGED"}; ulimit -n ${host.fdLimit ?? "unknown"})`,
    series: host.runtimeParts,
    target: {
      text: "< 200 ms, worker pid unchanged",
      pass: host.runtimeParts.medianMs < 200 && host.workerKept && host.allRuntime,
    },
  });
  rows.push({ figure: "  the same, config committed as one file (--layout single)", series: host.runtime });
  rows.push({ figure: "  the same change by reload (--no-runtime)", series: host.reload });
}

/** Marathon stand-in → sync --watch → git → deploy --watch → HAProxy under load, 20 scale events. */
async function propagationFigure(): Promise<void> {
  log(`propagation: ${propagationEvents} scale events end to end`);
  const dir = join(work, "propagation");
  rmSync(dir, { recursive: true, force: true });
  const result = await measurePropagation({
    mhc: { cmd: mhc, args: [] },
    events: propagationEvents,
    dir,
    log,
  });
  const worst = Math.max(...result.delaysMs);
  const medianMs = median(result.delaysMs);
  rows.push({
    figure: `propagation, ${propagationEvents} scale events, Marathon → sync --watch → git → deploy --watch → HAProxy (worst ${ms(worst)}; ${result.requestsOk.toLocaleString("en")} requests, ${result.requestsFailed} failed; ${result.reloads} reloads)`,
    series: summarise(result.delaysMs.map((wallMs): Run => ({ wallMs, code: 0, stdout: "", stderr: "" }))),
    target: {
      text: "median < 4 s, worst < 8 s, 0 failed requests, 0 reloads",
      pass: medianMs < 4_000 && worst < 8_000 && result.requestsFailed === 0 && result.reloads === 0,
    },
  });
}

const ms = (value: number) => `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString("en")} ms`;
const mb = (bytes?: number) => (bytes === undefined ? "n/a" : `${(bytes / MB).toFixed(0)} MB`);

function table(): string {
  const lines = [
    "| figure | median wall | median CPU | peak RSS (max) | × floor | target | result |",
    "|---|---:|---:|---:|---:|---|---|",
  ];
  for (const row of rows) {
    const isRss = row.measures === "rss";
    const ratio = row.floor ? `${(row.series.medianMs / row.floor.medianMs).toFixed(2)}×` : "";
    lines.push(
      `| ${row.figure} | ${isRss ? "" : ms(row.series.medianMs)} | ${isRss || row.series.medianCpuMs === undefined ? "" : ms(row.series.medianCpuMs)} | ${mb(row.series.maxRssBytes)} | ${isRss ? "" : ratio} | ${row.target?.text ?? ""} | ${row.target ? (row.target.pass ? "pass" : "**FAIL**") : ""} |`,
    );
  }
  return lines.join("\n");
}

function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: `${process.platform} ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`,
    bun: execFileSync(bun, ["--version"], { encoding: "utf8" }).trim(),
    git: execFileSync("git", ["--version"], { encoding: "utf8" }).trim(),
    mhc: execFileSync(mhc, ["--version"], { encoding: "utf8" }).trim(),
    peakRss: existsSync(gnuTime) ? "GNU time %M (ru_maxrss of the child)" : "not measured (no /usr/bin/time)",
    loadAverageAtStart: loadavg()[0]?.toFixed(2),
  };
}

mkdirSync(work, { recursive: true });
buildBinaries();
const host = machine();
log(`${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB; bun ${host.bun}; ${runs} runs per figure`);
if ((loadavg()[0] ?? 0) > 0.5)
  log(`load average ${loadavg()[0]?.toFixed(2)}: other work is running, figures will be noisy`);
const small = only ? undefined : scale(1_000);
if (small) {
  await renderFigures(small);
  await syncFigures(small);
}
const large = scale(10_000);
if (!only) {
  await renderFigures(large);
  await diffFigure(large);
}
if (!only || only === "watch") await watchFigures(large);
if (!only) await startupFigure();
if (!only || only === "host") {
  await hostFigures(large);
  await propagationFigure();
}

const output = table();
process.stdout.write(`${output}\n`);
const results = {
  machine: host,
  seed,
  tasksPerApp,
  runs,
  snapshots: { ...(small ? { [small.apps]: small.bytes } : {}), [large.apps]: large.bytes },
  watch: watchResults,
  figures: rows.map((row) => ({
    figure: row.figure.trim(),
    ...(row.measures === "rss"
      ? { rssBytesPerRun: row.series.runs.map((r: Run) => r.peakRssBytes) }
      : {
          medianMs: row.series.medianMs,
          medianCpuMs: row.series.medianCpuMs,
          runsMs: row.series.runs.map((r: Run) => Math.round(r.wallMs * 10) / 10),
        }),
    medianRssBytes: row.series.medianRssBytes,
    maxRssBytes: row.series.maxRssBytes,
    ...(row.floor
      ? { floorMedianMs: row.floor.medianMs, ratioToFloor: row.series.medianMs / row.floor.medianMs }
      : {}),
    ...(row.target ? { target: row.target.text, pass: row.target.pass } : {}),
  })),
};
const resultsFile = join(work, only ? `results-${only}.json` : "results.json");
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
log(`results written to ${resultsFile}`);
const failed = rows.filter((row) => row.target && !row.target.pass);
if (failed.length > 0) {
  log(`${failed.length} target(s) not met: ${failed.map((r) => r.figure.trim()).join("; ")}`);
  process.exitCode = 1;
}
