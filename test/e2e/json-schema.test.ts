import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task, webWithHosts } from "../helpers/apps.ts";
import { runMhc, startMhc } from "../helpers/cli.ts";
import { startEventMarathon } from "../helpers/events.ts";
import { bareRepo, git } from "../helpers/git.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort } from "../helpers/net.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * Every `--json` document says `"schema": 1` and has the same keys in every run, with null where a
 * value is absent, so a script written against one run works against the next.
 */
const dir = mkdtempSync(join(tmpdir(), "mhc-json-"));

function snapshotFile(name: string, apps: unknown[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(snapshotOf(...(apps as Parameters<typeof snapshotOf>))));
  return file;
}

const oneServer = snapshotFile("one", [
  hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31001] })]),
]);
const twoServers = snapshotFile("two", [
  hostApp(
    "/web",
    [10000],
    [
      task({ host: "10.0.0.1", ports: [31001] }),
      task({ host: "10.0.0.2", ports: [31002], state: "TASK_STAGING" }),
    ],
  ),
  hostApp("/api", [10001], [task({ host: "10.0.0.3", ports: [31003] })], {
    labels: { HAPROXY_0_VHOST: "a\nb" },
  }),
]);
const empty = snapshotFile("empty", []);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The same keys at every level where both documents have an object (arrays are not compared). */
function expectSameShape(a: unknown, b: unknown, path = "$"): void {
  if (!isObject(a) || !isObject(b)) return;
  expect(Object.keys(b).sort(), `keys of ${path}`).toEqual(Object.keys(a).sort());
  for (const key of Object.keys(a)) expectSameShape(a[key], b[key], `${path}.${key}`);
}

function expectStable(documents: unknown[]): void {
  for (const document of documents) expect(document).toMatchObject({ schema: 1 });
  for (const document of documents.slice(1)) expectSameShape(documents[0], document);
}

const parse = (stdout: string) => JSON.parse(stdout) as unknown;

describe("--json documents have schema 1 and stable keys", () => {
  it("render --json", async () => {
    const runs = await Promise.all(
      [oneServer, twoServers, empty].map((file) => runMhc(["render", "--from", file, "--json"])),
    );
    for (const run of runs) expect(run.code).toBe(0);
    expectStable(runs.map((r) => parse(r.stdout)));
  });

  it("sync --json: committed, unchanged, dry run, refused by a gate", async () => {
    const remote = bareRepo();
    const sync = (file: string, ...extra: string[]) =>
      runMhc(["sync", "--from", file, "--repo", remote, "--validate", "never", "--json", ...extra]);
    const runs = [
      await sync(twoServers),
      await sync(twoServers),
      await sync(oneServer, "--dry-run"),
      await sync(empty),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 10]);
    expectStable(runs.map((r) => parse(r.stdout)));
  });

  it("sync --watch --json: one document per line", async () => {
    const m = await startEventMarathon(webWithHosts(1));
    const p = startMhc(["sync", "--watch", m.url, "--repo", bareRepo(), "--validate", "never", "--json"]);
    try {
      await eventually(() => p.stdout().split("\n").length > 1, `the first sync\n${p.stderr()}`);
      m.apps = webWithHosts(2);
      m.send("status_update_event", { appId: "/web" });
      await eventually(() => p.stdout().trim().split("\n").length >= 2, `the second sync\n${p.stderr()}`);
    } finally {
      await p.stop(5_000);
      await m.close();
    }
    expectStable(p.stdout().trim().split("\n").map(parse));
  });

  it.skipIf(!haproxyAvailable())("deploy --status --json: never installed, then installed", async () => {
    const work = mkdtempSync(join(tmpdir(), "mhc-json-deploy-"));
    const remote = join(work, "remote.git");
    const clone = join(work, "clone");
    const config = join(work, "etc", "haproxy.cfg");
    mkdirSync(join(work, "etc"));
    git(work, "init", "--quiet", "--bare", "--initial-branch=main", remote);
    git(work, "clone", "--quiet", remote, clone);
    mkdirSync(join(clone, "haproxy"));
    // Free ports: deploy checks that the candidate's listeners can bind on this host.
    const ports = snapshotFile("ports", [hostApp("/web", [await freePort()], [task({ host: "10.0.0.1" })])]);
    const http = String(await freePort());
    const rendered = await runMhc(["render", "--from", ports, "--http-port", http, "--stats-port", "0"]);
    writeFileSync(join(clone, "haproxy", "haproxy.cfg"), rendered.stdout);
    git(clone, "add", "-A");
    git(clone, "commit", "--quiet", "-m", "config");
    git(clone, "push", "--quiet", "origin", "HEAD:main");
    const status = async () =>
      parse((await runMhc(["deploy", "--status", "--json", "--config", config])).stdout);
    const before = await status();
    const deployed = await runMhc([
      "deploy",
      "--repo",
      remote,
      "--config",
      config,
      "--reload-cmd",
      "true",
      "--workdir",
      join(work, "cache"),
    ]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expectStable([before, await status()]);
  });
});
