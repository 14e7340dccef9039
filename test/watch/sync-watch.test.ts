import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { webWithHosts as web } from "../helpers/apps.ts";
import { harnessReadsExitStatusAfterKill, type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon, startFollower } from "../helpers/events.ts";
import { bareRepo, commits, fileAt, git, tempDir } from "../helpers/git.ts";
import { eventually, sleep } from "../helpers/wait.ts";

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };
const path = "haproxy/haproxy.cfg";

const servers = (config: string | undefined) =>
  (config ?? "").split("\n").filter((l) => /^\s+server /.test(l)).length;

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function marathon(apps: unknown): Promise<EventMarathon> {
  const m = await startEventMarathon(apps);
  marathons.push(m);
  return m;
}

/** Short durations so the suite stays fast; later flags override these. */
const fast = ["--wait", "200ms:1s", "--idle-timeout", "1s", "--resync", "1m", "--validate", "never"];

function watch(address: string, remote: string, ...extra: string[]): RunningMhc {
  const p = startMhc(["sync", "--watch", address, "--repo", remote, ...fast, ...extra], {
    env,
    timeoutMs: 90_000,
  });
  running.push(p);
  return p;
}

/** Waits for the first sync's commit and a connected event stream. */
async function started(m: EventMarathon, remote: string, p: RunningMhc): Promise<void> {
  await eventually(() => commits(remote).length === 1, `the initial commit\n${p.stderr()}`);
  await eventually(() => m.openStreams() === 1, `the event stream\n${p.stderr()}`);
}

describe("mhc sync --watch against a local Marathon with an event stream", () => {
  it("publishes at start, then one or two commits for a burst of 100 events", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote, "--wait", "300ms:3s");
    await started(m, remote, p);
    const fetchesBefore = m.appsRequests().length;
    for (let i = 2; i <= 101; i++) {
      m.apps = web(i);
      m.send("status_update_event", { taskId: `web.${i - 1}`, taskStatus: "TASK_RUNNING", appId: "/web" });
      await sleep(10);
    }
    await eventually(() => servers(fileAt(remote, "main", path)) === 101, `all 101 servers\n${p.stderr()}`);
    await sleep(1_500); // anything still coming (a quiet period and more) would land by now
    const burstCommits = commits(remote).length - 1;
    expect(burstCommits).toBeGreaterThanOrEqual(1);
    expect(burstCommits).toBeLessThanOrEqual(2);
    expect(m.appsRequests().length - fetchesBefore).toBe(burstCommits);
    expect(m.eventsRequests()[0]?.path).toContain("event_type=status_update_event");
    expect(m.eventsRequests()[0]?.headers.accept).toBe("text/event-stream");
  });

  it("a steady event stream still commits at least every MAX", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote, "--wait", "500ms:1s");
    await started(m, remote, p);
    // One event every 100 ms for 3.5 s: the 500 ms quiet period never comes, only the 1 s cap.
    for (let i = 2; i <= 36; i++) {
      m.apps = web(i);
      m.send("status_update_event", { appId: "/web" });
      await sleep(100);
    }
    const duringStream = commits(remote).length - 1;
    expect(duringStream, p.stderr()).toBeGreaterThanOrEqual(2);
    expect(duringStream).toBeLessThanOrEqual(5);
    await eventually(() => servers(fileAt(remote, "main", path)) === 36, "the last change");
  });

  it("reconnects a dropped stream and publishes the next change", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote);
    await started(m, remote, p);
    m.drop();
    await eventually(
      () => m.eventsRequests().length === 2 && m.openStreams() === 1,
      `a reconnect\n${p.stderr()}`,
    );
    await eventually(
      () => /event stream \S+: stream (closed|failed)[^\n]*; reconnecting in/.test(p.stderr()),
      p.stderr(),
    );
    m.apps = web(2);
    m.send("status_update_event", { appId: "/web" });
    await eventually(
      () => servers(fileAt(remote, "main", path)) === 2,
      `the change after the reconnect\n${p.stderr()}`,
    );
  });

  it("the idle watchdog reconnects a stream that went silent (no keep-alives)", async () => {
    const m = await marathon(web(1));
    m.keepAliveMs = 0;
    const remote = bareRepo();
    const p = watch(m.url, remote, "--idle-timeout", "1s");
    await started(m, remote, p);
    await eventually(() => m.eventsRequests().length >= 2, `a reconnect after silence\n${p.stderr()}`, 6_000);
    const [first, second] = m.eventsRequests();
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
    await eventually(
      () => p.stderr().includes("no event or keep-alive for 1 s (stream stalled); reconnecting in"),
      p.stderr(),
    );
  });

  it("keep-alives count as data: a quiet stream with keep-alives is not reconnected", async () => {
    const m = await marathon(web(1));
    m.keepAliveMs = 200;
    const remote = bareRepo();
    const p = watch(m.url, remote, "--idle-timeout", "1s");
    await started(m, remote, p);
    await sleep(2_500); // a silent stream would have been reconnected twice by now
    expect(m.eventsRequests(), p.stderr()).toHaveLength(1);
  });

  it("follows the follower's redirect to the leader and re-sends the credentials there", async () => {
    const leader = await marathon(web(1));
    leader.authorization = `Basic ${btoa("watcher:s3cret-pw")}`;
    const follower = await startFollower(leader);
    cleanups.push(follower.close);
    const remote = bareRepo();
    const p = watch(follower.url, remote, "--auth", "watcher:s3cret-pw");
    await started(leader, remote, p);
    expect(follower.requests.some((r) => r.path.startsWith("/v2/events"))).toBe(true);
    const atLeader = leader.eventsRequests();
    expect(atLeader).toHaveLength(1);
    expect(atLeader[0]?.headers.authorization).toBe(leader.authorization);
    leader.apps = web(3);
    leader.send("api_post_event", { uri: "/v2/apps/web" });
    await eventually(() => servers(fileAt(remote, "main", path)) === 3, `the change\n${p.stderr()}`);
    const { stderr } = await p.stop();
    expect(stderr).not.toContain("s3cret-pw");
    expect(stderr).not.toContain(btoa("watcher:s3cret-pw"));
  });

  it("resyncs every --resync even when no event arrives", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote, "--resync", "1s");
    await started(m, remote, p);
    m.apps = web(2); // no event: only the periodic resync can notice
    await eventually(() => servers(fileAt(remote, "main", path)) === 2, `a resync\n${p.stderr()}`, 5_000);
    // The commit reaches the remote just before the log line is written.
    await eventually(() => p.stderr().includes("sync (periodic resync): pushed"), p.stderr());
  });

  it("on SIGTERM mid-sync lets the sync finish, then exits 0", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const status = join(tempDir("mhc-status-"), "status.json");
    const p = watch(m.url, remote, "--status-file", status);
    await started(m, remote, p);
    const fetches = m.appsRequests().length;
    m.appsDelayMs = 1_500;
    m.apps = web(2);
    m.send("status_update_event", { appId: "/web" });
    await eventually(() => m.appsRequests().length > fetches, "the sync's fetch");
    p.kill("SIGTERM");
    const result = await p.exited;
    if (harnessReadsExitStatusAfterKill) expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("SIGTERM received");
    expect(commits(remote)).toHaveLength(2);
    expect(servers(fileAt(remote, "main", path))).toBe(2);
    const saved = JSON.parse(readFileSync(status, "utf8"));
    expect(saved).toMatchObject({ watching: false, streamConnected: false, syncs: 2, failures: 0 });
    expect(saved.lastCommit).toBe(git(remote, "rev-parse", "main").trim());
  });

  it("a sync refused by a gate is logged, the watcher keeps going and publishes the next good state", async () => {
    const m = await marathon(web(4));
    const remote = bareRepo();
    const status = join(tempDir("mhc-status-"), "status.json");
    const p = watch(m.url, remote, "--status-file", status);
    await started(m, remote, p);
    m.apps = web(1); // 3 of 4 servers gone: more than --max-drop 50
    m.send("status_update_event", { appId: "/web" });
    await eventually(() => p.stderr().includes("refused by gate max-drop"), `the refusal\n${p.stderr()}`);
    // The status file is written right after the log line: wait for it rather than race it.
    await eventually(
      () => JSON.parse(readFileSync(status, "utf8")).failures === 1,
      "the status after the refusal",
    );
    const refused = JSON.parse(readFileSync(status, "utf8"));
    expect(refused).toMatchObject({
      consecutiveFailures: 1,
      failures: 1,
      watching: true,
      streamConnected: true,
    });
    expect(refused.lastError).toContain("max-drop");
    expect(commits(remote)).toHaveLength(1);
    m.apps = web(5);
    m.send("status_update_event", { appId: "/web" });
    await eventually(() => servers(fileAt(remote, "main", path)) === 5, `the next good state\n${p.stderr()}`);
    await eventually(() => JSON.parse(readFileSync(status, "utf8")).consecutiveFailures === 0, "the status");
    const recovered = JSON.parse(readFileSync(status, "utf8"));
    expect(recovered.lastCommit).toBe(git(remote, "rev-parse", "main").trim());
    expect(Date.parse(recovered.lastSuccessAt)).toBeGreaterThan(Date.parse(recovered.lastErrorAt));
  });

  it("keeps watching when Marathon is down at start, and publishes once it is back", async () => {
    const m = await marathon(web(2));
    m.authorization = "nobody gets in";
    const remote = bareRepo();
    const p = watch(m.url, remote, "--retries", "0");
    await eventually(
      () => /sync \(start\): Marathon at \S+ refused the credentials/.test(p.stderr()),
      p.stderr(),
    );
    expect(commits(remote)).toHaveLength(0);
    m.authorization = undefined; // the stream's next reconnect attempt succeeds and triggers a sync
    await eventually(() => commits(remote).length === 1, `a commit after recovery\n${p.stderr()}`);
  });

  it("--json prints one JSON line per sync on stdout", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote, "--json");
    await started(m, remote, p);
    m.apps = web(2);
    m.send("status_update_event", { appId: "/web" });
    await eventually(() => commits(remote).length === 2, p.stderr());
    const { stdout } = await p.stop();
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.trigger)).toEqual(["start", "event"]);
    expect(lines[1]).toMatchObject({ changed: true, exitCode: 0, branch: "main", path });
    expect(lines[1].commit).toBe(git(remote, "rev-parse", "main").trim());
  });

  it("a commit someone else pushes between two syncs stays: the next sync fetches it and builds on it", async () => {
    const m = await marathon(web(1));
    const remote = bareRepo();
    const p = watch(m.url, remote, "--layout", "parts");
    await started(m, remote, p);
    m.apps = web(2);
    m.send("status_update_event", { taskId: "web.1", taskStatus: "TASK_RUNNING", appId: "/web" });
    await eventually(() => commits(remote).length === 2, `the second sync\n${p.stderr()}`);
    const clone = tempDir("mhc-other-");
    git(clone, "clone", "--quiet", remote, ".");
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "someone else");
    execFileSync("sh", ["-c", "echo notes > NOTES && git add NOTES && git commit --quiet -m notes"], {
      cwd: clone,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@x",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@x",
      },
    });
    git(clone, "push", "--quiet", "origin", "HEAD:main");
    m.apps = web(3);
    m.send("status_update_event", { taskId: "web.2", taskStatus: "TASK_RUNNING", appId: "/web" });
    await eventually(() => commits(remote).length === 5, `the sync after the other push\n${p.stderr()}`);
    expect(fileAt(remote, "main", "NOTES")).toBe("notes\n");
    expect(git(remote, "log", "--format=%s", "-3", "main").split("\n")[1]).toBe("notes");
    const joined = (fileAt(remote, "main", `${path}.parts/index`) ?? "")
      .split("\n")
      .filter(Boolean)
      .map((name) => fileAt(remote, "main", `${path}.parts/${name}`))
      .join("");
    expect(servers(joined)).toBe(3);
  });

  it("refuses what --watch cannot do, before touching Marathon or git", async () => {
    const remote = bareRepo();
    for (const [args, text] of [
      [["--dry-run"], "--watch publishes"],
      [["--from", "x.json"], "cannot watch --from"],
      [["--wait", "10s:2s"], "--wait MAX must be more than zero and at least MIN"],
      [["--resync", "5 minutes"], "--resync must be a duration"],
    ] as const) {
      const result = await runMhc(["sync", "--watch", "127.0.0.1:1", "--repo", remote, ...args], { env });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(text);
    }
    const noWatch = await runMhc(["sync", "127.0.0.1:1", "--repo", remote, "--resync", "1m"], { env });
    expect(noWatch.code).toBe(2);
    expect(noWatch.stderr).toContain("--resync only applies with --watch");
    const notIncremental = await runMhc(["sync", "127.0.0.1:1", "--repo", remote, "--no-incremental"], {
      env,
    });
    expect(notIncremental.code).toBe(2);
    expect(notIncremental.stderr).toContain("--no-incremental only applies with --watch");
  });
});
