import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc, startMhc } from "../helpers/cli.ts";
import { startEventMarathon } from "../helpers/events.ts";
import { commits, fileAt, git, hook, message, bareRepo as newBareRepo, tempDir } from "../helpers/git.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { json, type Reply, startMarathon } from "../helpers/marathon.ts";
import { freePort } from "../helpers/net.ts";
import { eventually } from "../helpers/wait.ts";

const cache = tempDir("mhc-cache-");
const env = { XDG_CACHE_HOME: cache };
const path = "haproxy/haproxy.cfg";

/** Every remote these tests publish to, for the subject-length check at the end. */
const remotes: string[] = [];
function bareRepo(): string {
  const remote = newBareRepo();
  remotes.push(remote);
  return remote;
}

afterAll(() => {
  const subjects = remotes.flatMap((r) =>
    commits(r).length === 0 ? [] : git(r, "log", "--all", "--format=%s").trim().split("\n"),
  );
  for (const subject of subjects) expect(subject.length, subject).toBeLessThanOrEqual(72);
});

function snapshotFile(apps: Record<string, unknown>[]): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(snapshotOf(...apps)));
  return file;
}

const web = (hosts: string[], extra: Record<string, unknown> = {}) =>
  hostApp(
    "/web",
    [10000],
    hosts.map((h, i) => task({ id: `web.${h}`, host: h, ports: [31000 + i] })),
    extra,
  );
const api = (hosts: string[]) =>
  hostApp(
    "/api",
    [10001],
    hosts.map((h) => task({ id: `api.${h}`, host: h, ports: [32000] })),
  );

const sync = (from: string, repo: string, ...extra: string[]) =>
  runMhc(["sync", "--from", from, "--repo", repo, ...extra], { env });
const rendered = async (from: string) => (await runMhc(["render", "--from", from])).stdout;

describe("mhc sync to a bare remote", () => {
  it("first sync into an empty repo creates the branch with one commit; a re-run makes none", async () => {
    const remote = bareRepo();
    const v1 = snapshotFile([web(["10.0.0.1", "10.0.0.2"])]);
    const first = await sync(v1, remote);
    expect(first.stderr).toContain("pushed");
    expect(first.code).toBe(0);
    expect(commits(remote)).toHaveLength(1);
    expect(fileAt(remote, "main", path)).toBe(await rendered(v1));
    expect(git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>")).toBe(
      "mhc <mhc@localhost>|mhc <mhc@localhost>\n",
    );

    const again = await sync(v1, remote);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("no change");
    expect(commits(remote)).toHaveLength(1);
  });

  it("a changed snapshot gives one commit that names added and removed servers, with trailers", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2"]), api(["10.0.1.1"])]), remote);
    const v2 = snapshotFile([
      web(["10.0.0.1", "10.0.0.3", "10.0.0.4"]),
      hostApp("/new", [10002], [task({ host: "10.0.2.1", ports: [33000] })]),
    ]);
    const result = await sync(v2, remote, "--author", "Topology Bot <bot@example.org>", "--max-drop", "70");
    expect(result.code).toBe(0);
    expect(commits(remote)).toHaveLength(2);
    const text = message(remote);
    expect(text.split("\n")[0]).toBe("haproxy: /web +2 servers -1 server, +1 app /new, -1 app /api");
    expect(text).toContain(
      "backend web_10000 (app /web)\n    + 10.0.0.3:31001\n    + 10.0.0.4:31002\n    - 10.0.0.2:31001\n",
    );
    expect(text).toContain("+ backend new_10002 (app /new, 1 server)\n    + 10.0.2.1:33000\n");
    expect(text).toContain("- backend api_10001 (app /api, 1 server): deleted\n    - 10.0.1.1:32000\n");
    expect(text).toMatch(
      /\nMarathon: \S+apps\.json\nMhc-Version: \d+\.\d+\.\d+\nSnapshot-Digest: sha256:[0-9a-f]{64}\n/,
    );
    expect(git(remote, "log", "-1", "--format=%an <%ae>")).toBe("Topology Bot <bot@example.org>\n");
    expect(fileAt(remote, "main", path)).toBe(await rendered(v2));
  });

  it("option changes and excluded tasks appear in the body", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1"])]), remote);
    const check = { protocol: "HTTP", path: "/health", portIndex: 0 };
    const v2 = snapshotFile([
      hostApp(
        "/web",
        [10000],
        [
          task({ id: "web.10.0.0.1", host: "10.0.0.1", ports: [31000] }),
          task({ id: "web.new", state: "TASK_STAGING" }),
        ],
        {
          healthChecks: [check],
          labels: { HAPROXY_0_BALANCE: "leastconn" },
        },
      ),
    ]);
    expect((await sync(v2, remote)).code).toBe(0);
    const text = message(remote);
    expect(text).toContain("    balance roundrobin → leastconn\n");
    expect(text).toContain("    mode tcp → http\n");
    expect(text).toContain("    health check none → GET /health\n");
    expect(text).toContain("Tasks not in the config: 1 (+1 -0)\n    + /web web.new: state TASK_STAGING");
  });

  it("a push that loses a race starts over from the new remote head: linear history, nothing lost", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1"])]), remote);
    // The first push after this moves main under the pusher's feet (someone else committed first).
    hook(
      remote,
      "pre-receive",
      `[ -f "$GIT_DIR/raced" ] && exit 0
touch "$GIT_DIR/raced"
repo=$(cd "$GIT_DIR" && pwd)
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR
tmp=$(mktemp -d) && git clone -q "$repo" "$tmp" && cd "$tmp" &&
echo "notes" > NOTES && git add NOTES && git -c user.name=other -c user.email=o@x commit -qm "someone else" &&
git push -q origin HEAD:main >/dev/null 2>&1
exit 0`,
    );
    const v2 = snapshotFile([web(["10.0.0.1", "10.0.0.2"])]);
    const result = await sync(v2, remote);
    expect(result.stderr).toContain("push lost a race");
    expect(result.code).toBe(0);
    const log = git(remote, "log", "--format=%s", "main").trim().split("\n");
    expect(log).toEqual(["haproxy: /web +1 server", "someone else", "haproxy: +1 app /web"]);
    expect(git(remote, "rev-list", "--merges", "main")).toBe("");
    expect(fileAt(remote, "main", "NOTES")).toBe("notes\n");
    expect(fileAt(remote, "main", path)).toBe(await rendered(v2));
  });

  it("two mhc sync processes started at the same moment both exit 0; one commit per change, linear", async () => {
    const remote = bareRepo();
    const states = [["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2", "10.0.0.3"]];
    for (const [round, hosts] of states.entries()) {
      const from = snapshotFile([web(hosts)]);
      const [a, b] = await Promise.all([
        sync(from, remote, "--workdir", join(cache, `race-a-${round}`)),
        sync(from, remote, "--workdir", join(cache, `race-b-${round}`)),
      ]);
      expect([a.code, b.code]).toEqual([0, 0]);
      expect(commits(remote)).toHaveLength(round + 1);
      expect(fileAt(remote, "main", path)).toBe(await rendered(from));
    }
    expect(git(remote, "rev-list", "--merges", "main")).toBe("");
  });

  it("a corrupt work dir is recreated, not trusted", async () => {
    const remote = bareRepo();
    const workdir = join(cache, "corrupt");
    await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--workdir", workdir);
    writeFileSync(join(workdir, ".git", "HEAD"), "garbage");
    rmSync(join(workdir, ".git", "objects"), { recursive: true, force: true });
    const v2 = snapshotFile([web(["10.0.0.1", "10.0.0.2"])]);
    const result = await sync(v2, remote, "--workdir", workdir);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("recreating it");
    expect(commits(remote)).toHaveLength(2);
    expect(fileAt(remote, "main", path)).toBe(await rendered(v2));
  });

  it("--dry-run prints the summary and diff and publishes nothing", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1"])]), remote);
    const result = await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2"])]), remote, "--dry-run");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("haproxy: /web +1 server");
    expect(result.stdout).toContain(`+++ b/${path}`);
    expect(result.stdout).toContain("+  server 10.0.0.2_31001 10.0.0.2:31001 check");
    expect(commits(remote)).toHaveLength(1);
  });

  it("--json gives a machine-readable result", async () => {
    const remote = bareRepo();
    const result = await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--json");
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({
      changed: true,
      pushedTo: "main",
      exitCode: 0,
      counts: { services: 1, servers: 1, serversAdded: 1, serversRemoved: 0 },
    });
    expect(parsed.commit).toBe(commits(remote)[0]);
    const again = JSON.parse((await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--json")).stdout);
    expect(again).toMatchObject({ changed: false, exitCode: 0 });
  });
});

describe("safety gates", () => {
  async function published(apps: Record<string, unknown>[]) {
    const remote = bareRepo();
    expect((await sync(snapshotFile(apps), remote)).code).toBe(0);
    return remote;
  }

  it("Marathon returning no apps while services are published: refused, exit 10, nothing pushed", async () => {
    const remote = await published([web(["10.0.0.1"])]);
    const result = await sync(snapshotFile([]), remote);
    expect(result.code).toBe(10);
    expect(result.stderr).toContain("refused by gate no-apps");
    expect(commits(remote)).toHaveLength(1);
  });

  it("a backend that had servers would have none: refused", async () => {
    const remote = await published([web(["10.0.0.1", "10.0.0.2"]), api(["10.0.1.1"])]);
    const staging = hostApp(
      "/web",
      [10000],
      [task({ host: "10.0.0.1", ports: [31000], state: "TASK_STAGING" })],
    );
    const result = await sync(snapshotFile([staging, api(["10.0.1.1"])]), remote);
    expect(result.code).toBe(10);
    expect(result.stderr).toContain(
      "refused by gate empty-backend: would leave backends with no servers: web_10000",
    );
    expect(commits(remote)).toHaveLength(1);
  });

  it("more than --max-drop percent of servers disappearing: refused; a higher limit or --force publishes", async () => {
    const apps = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        hostApp(`/app${i}`, [11000 + i], [task({ host: `10.0.3.${i}`, ports: [30000] })]),
      );
    const remote = await published(apps(10));
    const shrunk = snapshotFile(apps(4));
    const refused = await sync(shrunk, remote);
    expect(refused.code).toBe(10);
    expect(refused.stderr).toContain(
      "refused by gate max-drop: 6 of 10 servers (60.0%) would disappear, more than --max-drop 50%",
    );
    expect(commits(remote)).toHaveLength(1);
    expect((await sync(shrunk, remote, "--max-drop", "70")).code).toBe(0);
    expect(commits(remote)).toHaveLength(2);
    expect((await sync(snapshotFile([]), remote, "--force")).code).toBe(0);
    expect(commits(remote)).toHaveLength(3);
  });

  it("--review-branch: a gated change goes to the review branch (replaced safely), exit 11; main untouched", async () => {
    const remote = await published([web(["10.0.0.1", "10.0.0.2"])]);
    const mainHead = commits(remote)[0];
    const gutted = snapshotFile([web(["10.0.0.9"])]);
    const first = await sync(gutted, remote, "--review-branch", "mhc-review");
    expect(first.code).toBe(11);
    expect(first.stderr).toContain("pushed");
    expect(first.stderr).toContain("to review branch mhc-review");
    expect(commits(remote)[0]).toBe(mainHead);
    expect(message(remote, "mhc-review")).toContain("Held for review: gate max-drop");
    expect(git(remote, "rev-parse", "mhc-review~1").trim()).toBe(mainHead);
    // Again, with a different gutted state: the review branch is replaced, not stacked.
    const second = await sync(snapshotFile([web(["10.0.0.8"])]), remote, "--review-branch", "mhc-review");
    expect(second.code).toBe(11);
    expect(git(remote, "rev-parse", "mhc-review~1").trim()).toBe(mainHead);
    expect(fileAt(remote, "mhc-review", path)).toContain("10.0.0.8");
    // A routine change still goes to main.
    expect(
      (
        await sync(
          snapshotFile([web(["10.0.0.1", "10.0.0.2", "10.0.0.3"])]),
          remote,
          "--review-branch",
          "mhc-review",
        )
      ).code,
    ).toBe(0);
    expect(commits(remote)).toHaveLength(2);
  });
});

describe("bad input never reaches the repo", () => {
  it.skipIf(!haproxyAvailable())(
    "an invalid config (a --head HAProxy rejects) is not committed: exit 6",
    async () => {
      const remote = bareRepo();
      const head = join(tempDir(), "head.cfg");
      writeFileSync(head, "global\n  this-is-not-a-keyword\n");
      const result = await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--head", head);
      expect(result.code).toBe(6);
      expect(result.stderr).toContain("not valid, nothing committed");
      expect(commits(remote)).toHaveLength(0);
    },
  );

  it("--validate always without HAProxy: exit 7", async () => {
    const remote = bareRepo();
    const result = await sync(
      snapshotFile([web(["10.0.0.1"])]),
      remote,
      "--validate",
      "always",
      "--haproxy",
      "/nonexistent/haproxy",
    );
    expect(result.code).toBe(7);
    expect(commits(remote)).toHaveLength(0);
  });

  it("a password in the repo URL never shows up in output", async () => {
    const dead = await freePort();
    const url = `http://deployer:Sup3rSecretPw@127.0.0.1:${dead}/config.git`;
    const result = await sync(snapshotFile([web(["10.0.0.1"])]), url, "--json", "--verbose");
    expect(result.code).toBe(9);
    expect(result.stderr).toContain("git ls-remote failed");
    expect(`${result.stdout}${result.stderr}`).not.toContain("Sup3rSecretPw");
  });
});

describe("nothing already published is lost", () => {
  it("a sync that fails or is refused leaves the published config and its history exactly as they were", async () => {
    const remote = bareRepo();
    const good = snapshotOf(web(["10.0.0.1", "10.0.0.2"]), api(["10.0.1.1"]));
    const marathon = await startMarathon(() => json(good));
    try {
      const fromMarathon = (...extra: string[]) =>
        runMhc(["sync", "--marathon", marathon.url, "--repo", remote, "--retries", "0", ...extra], { env });
      expect((await fromMarathon()).code).toBe(0);
      const head = commits(remote);
      const config = fileAt(remote, "main", path);
      const head6 = join(tempDir(), "head.cfg");
      writeFileSync(head6, "global\n  this-is-not-a-keyword\n");
      const failures: [string, () => Reply, string[], number][] = [
        ["Marathon in leader election", () => ({ status: 503, body: "no leader" }), [], 3],
        ["a truncated answer", () => ({ body: JSON.stringify(good).slice(0, 100) }), [], 5],
        ["no apps at all", () => json({ apps: [] }), [], 10],
        ["every app of the wrong JSON type", () => json({ apps: [{ id: "/web", tasks: {} }] }), [], 10],
        ...(haproxyAvailable()
          ? ([["a head HAProxy rejects", () => json(good), ["--head", head6], 6]] as [
              string,
              () => Reply,
              string[],
              number,
            ][])
          : []),
      ];
      for (const [what, reply, extra, code] of failures) {
        marathon.reply(reply);
        const result = await fromMarathon(...extra);
        expect(result.code, what).toBe(code);
        expect(commits(remote), what).toEqual(head);
        expect(fileAt(remote, "main", path), what).toBe(config);
      }
      // The next good sync starts from what was published: one commit naming only the new server.
      marathon.reply(() => json(snapshotOf(web(["10.0.0.1", "10.0.0.2", "10.0.0.3"]), api(["10.0.1.1"]))));
      expect((await fromMarathon()).code).toBe(0);
      expect(commits(remote)).toHaveLength(head.length + 1);
      expect(message(remote).split("\n")[0]).toBe("haproxy: /web +1 server");
    } finally {
      await marathon.close();
    }
  });
});

describe("a local working repo (commit only)", () => {
  it("is created by the first sync with --init and committed to in place", async () => {
    const repo = join(tempDir(), "haproxy-config");
    const from = snapshotFile([web(["10.0.0.1"])]);
    const first = await sync(from, repo, "--init");
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("committed");
    expect(commits(repo)).toHaveLength(1);
    expect(readFileSync(join(repo, path), "utf8")).toBe(await rendered(from));
    expect((await sync(from, repo)).stderr).toContain("no change");
    expect(commits(repo)).toHaveLength(1);
  });

  it("commits only its own files: a person's staged change stays staged and out of the commit, and git status is clean for mhc's files", async () => {
    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile([web(["10.0.0.1"])]), repo, "--init")).code).toBe(0);
    writeFileSync(join(repo, "NOTES.md"), "mine\n");
    git(repo, "add", "NOTES.md");
    const result = await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2"])]), repo);
    expect(result.code, result.stderr).toBe(0);
    expect(git(repo, "show", "--name-only", "--format=", "HEAD").trim().split("\n")).toEqual([
      path,
      `${path}.mhc.json`,
    ]);
    expect(git(repo, "status", "--porcelain")).toBe("A  NOTES.md\n");
    expect(readFileSync(join(repo, path), "utf8")).toBe(fileAt(repo, "HEAD", path));
    expect(git(repo, "reflog", "-1", "--format=%gs")).toBe(`commit: ${message(repo).split("\n")[0]}\n`);
  });

  it("refuses to commit onto another checked-out branch", async () => {
    const repo = join(tempDir(), "cfg");
    await sync(snapshotFile([web(["10.0.0.1"])]), repo, "--init");
    git(repo, "checkout", "-q", "-b", "feature");
    const result = await sync(snapshotFile([web(["10.0.0.2"])]), repo);
    expect(result.code).toBe(9);
    expect(result.stderr).toContain('has branch "feature" checked out, not "main"');
    expect(existsSync(join(repo, ".git"))).toBe(true);
  });
});

describe("the published model file", () => {
  const modelFile = `${path}.mhc.json`;

  it("is committed beside the config: deterministic JSON, one server per line; the config is unchanged by it", async () => {
    const remote = bareRepo();
    const from = snapshotFile([web(["10.0.0.1", "10.0.0.2"]), api(["10.0.1.1"])]);
    expect((await sync(from, remote)).code).toBe(0);
    expect(fileAt(remote, "main", path)).toBe(await rendered(from));
    const text = fileAt(remote, "main", modelFile) as string;
    expect(text).toContain('\n        {"host":"10.0.0.1","name":"10.0.0.1_31000","port":31000},\n');
    const model = JSON.parse(text);
    expect(model).toMatchObject({ schema: 1, dropped: [], excluded: [] });
    expect(model.services.map((s: { name: string; appId: string }) => [s.name, s.appId])).toEqual([
      ["api_10001", "/api"],
      ["web_10000", "/web"],
    ]);
    // The same state gives the same bytes: a second remote holds an identical file.
    const other = bareRepo();
    await sync(from, other);
    expect(fileAt(other, "main", modelFile)).toBe(text);
  });

  it("a repo published by an older mhc (no model file) is read from its config once, with the same message", async () => {
    const v1 = snapshotFile([
      web(["10.0.0.1", "10.0.0.2"], { healthChecks: [{ protocol: "HTTP", path: "/h" }] }),
    ]);
    const v2 = snapshotFile([
      web(["10.0.0.1", "10.0.0.3"], { healthChecks: [{ protocol: "HTTP", path: "/h" }] }),
    ]);
    const withModel = bareRepo();
    await sync(v1, withModel);
    // The older mhc's repo: the same config, committed alone.
    const legacy = bareRepo();
    const clone = tempDir();
    git(clone, "init", "-q", "-b", "main");
    git(clone, "fetch", "-q", withModel, "main");
    git(clone, "checkout", "-q", "FETCH_HEAD");
    git(clone, "rm", "-q", modelFile);
    git(clone, "commit", "-qm", "published by mhc 0.1");
    git(clone, "push", "-q", legacy, "HEAD:refs/heads/main");
    const result = await sync(v2, legacy);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `no ${modelFile} in the repo; reading the published config itself until the next commit writes it`,
    );
    await sync(v2, withModel);
    const body = (remote: string) => message(remote).replace(/\nMarathon: .*/s, "");
    expect(body(legacy)).toBe(body(withModel));
    expect(fileAt(legacy, "main", modelFile)).toBe(fileAt(withModel, "main", modelFile));
  });
});

describe("flags that would bypass a gate", () => {
  it("--review-branch equal to --branch: exit 2, nothing pushed", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2"])]), remote);
    const result = await sync(snapshotFile([]), remote, "--review-branch", "main");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--review-branch must differ from --branch (both are "main")');
    expect(commits(remote)).toHaveLength(1);
  });
});

describe("one bad app never breaks the rest: the last line of defence", () => {
  it.skipIf(!haproxyAvailable())(
    "never commits a config HAProxy rejects: a service haproxy -c rejects is quarantined, its published version kept, the rest published",
    async () => {
      const remote = bareRepo();
      expect((await sync(snapshotFile([web(["10.0.0.1"]), api(["10.0.1.1"])]), remote)).code).toBe(0);
      // /api moves to service port 10002, and the head declares a backend of that name: HAProxy
      // rejects the new version's section (a duplicate name), which mhc's own checks cannot know.
      const head = join(tempDir(), "head.cfg");
      writeFileSync(head, "global\n  maxconn 100\n\nbackend api_10002\n  mode tcp\n");
      const moved = hostApp(
        "/api",
        [10002],
        ["10.0.1.1", "10.0.1.2"].map((h) => task({ host: h, ports: [32000] })),
      );
      const result = await sync(
        snapshotFile([web(["10.0.0.1", "10.0.0.2"]), moved]),
        remote,
        "--head",
        head,
        "--json",
      );
      expect(result.code).toBe(0);
      const parsed = JSON.parse(result.stdout);
      expect(parsed.quarantined).toEqual([
        {
          appId: "/api",
          portIndex: 0,
          reason: expect.stringMatching(
            /^quarantined, HAProxy rejected it: backend 'api_10002' has the same name/,
          ),
        },
      ]);
      const config = fileAt(remote, "main", path) as string;
      expect(config).toContain("10.0.0.2:31001");
      // The published version of /api (port 10001, one server) is kept, not the rejected one.
      expect(config).toContain("frontend api_10001\n  bind *:10001\n");
      expect(config).toContain("  server 10.0.1.1_32000 10.0.1.1:32000 check\n\n");
      expect(config).not.toContain("10.0.1.2:32000");
      const text = message(remote);
      expect(text.split("\n")[0]).toBe("haproxy: /web +1 server, dropped /api");
      expect(text).toMatch(
        /\ndropped \/api: quarantined, HAProxy rejected it: backend 'api_10002' has the same name as backend 'api_10002' declared at line 5; the published version is kept\n/,
      );
    },
  );

  it.skipIf(!haproxyAvailable())(
    "a published version HAProxy rejects too is not kept: the service is left out",
    async () => {
      const remote = bareRepo();
      expect((await sync(snapshotFile([web(["10.0.0.1"]), api(["10.0.1.1"])]), remote)).code).toBe(0);
      // Any version of /api now collides with the head's backend of the same name.
      const head = join(tempDir(), "head.cfg");
      writeFileSync(head, "global\n  maxconn 100\n\nbackend api_10001\n  mode tcp\n");
      const result = await sync(
        snapshotFile([web(["10.0.0.1", "10.0.0.2"]), api(["10.0.1.1"])]),
        remote,
        "--head",
        head,
      );
      expect(result.code).toBe(0);
      expect(fileAt(remote, "main", path)).not.toContain("frontend api_10001");
      const text = message(remote);
      expect(text.split("\n")[0]).toBe("haproxy: /web +1 server, dropped /api");
      expect(text).toContain("- backend api_10001 (app /api, 1 server): dropped (see below)\n");
      expect(text).toMatch(
        /\ndropped \/api: quarantined, HAProxy rejected it: backend 'api_10001' has the same name as backend 'api_10001' declared at line 5\n/,
      );
    },
  );

  it.skipIf(!haproxyAvailable())(
    "a new service HAProxy rejects is left out; only a broken head or global section fails the whole sync",
    async () => {
      const remote = bareRepo();
      const head = join(tempDir(), "head.cfg");
      writeFileSync(head, "global\n  maxconn 100\n\nbackend api_10001\n  mode tcp\n");
      const result = await sync(snapshotFile([web(["10.0.0.1"]), api(["10.0.1.1"])]), remote, "--head", head);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain("HAProxy rejected api_10001, quarantined");
      const config = fileAt(remote, "main", path) as string;
      expect(config).toContain("backend web_10000");
      expect(config).not.toContain("frontend api_10001");
      expect(message(remote).split("\n")[0]).toBe("haproxy: +1 app /web, dropped /api");
      writeFileSync(head, "global\n  this-is-not-a-keyword\n");
      const broken = await sync(snapshotFile([web(["10.0.0.2"]), api(["10.0.1.1"])]), remote, "--head", head);
      expect(broken.code).toBe(6);
      expect(commits(remote)).toHaveLength(1);
    },
  );
});

describe("machine-readable and reviewable output", () => {
  it("--json has schema 1 and the same keys in every run, null where absent", async () => {
    const remote = bareRepo();
    const keys = [
      "schema",
      "changed",
      "dryRun",
      "commit",
      "pushedTo",
      "branch",
      "path",
      "gate",
      "gatesOverridden",
      "quarantined",
      "counts",
      "exitCode",
      "message",
    ];
    const first = JSON.parse((await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--json")).stdout);
    const same = JSON.parse((await sync(snapshotFile([web(["10.0.0.1"])]), remote, "--json")).stdout);
    const refused = JSON.parse((await sync(snapshotFile([]), remote, "--json")).stdout);
    const forced = JSON.parse((await sync(snapshotFile([]), remote, "--json", "--force")).stdout);
    for (const doc of [first, same, refused, forced]) expect(Object.keys(doc)).toEqual(keys);
    expect(first).toMatchObject({ schema: 1, changed: true, pushedTo: "main", gate: null });
    expect(same).toMatchObject({ changed: false, commit: null, pushedTo: null, gate: null });
    expect(refused).toMatchObject({ exitCode: 10, commit: null, gate: { gate: "no-apps" } });
    expect(forced.gatesOverridden.map((g: { gate: string }) => g.gate)).toEqual(["no-apps", "max-drop"]);
    expect(message(remote)).toContain(
      "\nGate-Overridden: no-apps (0 apps, 1 backend published)\nGate-Overridden: max-drop (1 of 1 servers)\n",
    );
  });

  it("with --watch, a sync that failed before publishing prints a line with the same keys", async () => {
    const m = await startEventMarathon(snapshotOf(web(["10.0.0.1"])));
    const remote = bareRepo();
    const p = startMhc(
      ["sync", "--watch", m.url, "--repo", remote, "--json", "--wait", "100ms:1s", "--validate", "never"],
      { env, timeoutMs: 60_000 },
    );
    try {
      await eventually(() => commits(remote).length === 1 && m.openStreams() === 1, p.stderr());
      hook(remote, "pre-receive", "exit 1"); // the remote refuses: the next sync fails in git
      m.apps = snapshotOf(web(["10.0.0.1", "10.0.0.2"]));
      m.send("status_update_event", { appId: "/web" });
      await eventually(() => p.stdout().trim().split("\n").length === 2, p.stderr());
    } finally {
      await p.stop(5_000);
      await m.close();
    }
    const [ok, failed] = p
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(Object.keys(failed)).toEqual(Object.keys(ok));
    expect(failed).toMatchObject({
      schema: 1,
      changed: false,
      commit: null,
      gate: null,
      counts: null,
      exitCode: 9,
    });
    expect(failed.trigger).toBe("event");
  });

  it("--dry-run's diff names its sides and the backend of each hunk", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1"])]), remote);
    const from = snapshotFile([web(["10.0.0.1", "10.0.0.2"])]);
    const result = await sync(from, remote, "--dry-run");
    expect(result.stdout).toContain(`--- a/${path}\t(published)\n+++ b/${path}\t(snapshot ${from})\n`);
    expect(result.stdout).toMatch(/\n@@ -\d+,\d+ \+\d+,\d+ @@ backend web_10000\n/);
  });
});

describe("--review-branch needs a remote or bare repo", () => {
  it("with a local working repo a gated change is refused (exit 10), saying so, and nothing is committed", async () => {
    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2", "10.0.0.3"])]), repo, "--init")).code).toBe(
      0,
    );
    const result = await sync(snapshotFile([web(["10.0.0.1"])]), repo, "--review-branch", "mhc-review");
    expect(result.code).toBe(10);
    expect(result.stderr).toContain("--review-branch needs a remote or bare repo");
    expect(commits(repo)).toHaveLength(1);
    expect(git(repo, "branch", "--list", "mhc-review").trim()).toBe("");
  });
});

describe("push races exhausted", () => {
  it("a push that loses every race up to --push-attempts is exit 9; the others' commits stay", async () => {
    const remote = bareRepo();
    await sync(snapshotFile([web(["10.0.0.1"])]), remote);
    // Every push from mhc is beaten by someone else's commit (the inner push skips the hook).
    hook(
      remote,
      "pre-receive",
      `[ -n "$MHC_TEST_RIVAL" ] && exit 0
repo=$(cd "$GIT_DIR" && pwd)
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR
tmp=$(mktemp -d) && git clone -q "$repo" "$tmp" && cd "$tmp" &&
date +%s%N > NOTES && git add NOTES && git -c user.name=other -c user.email=o@x commit -qm "someone else" &&
MHC_TEST_RIVAL=1 git push -q origin HEAD:main >/dev/null 2>&1
exit 0`,
    );
    const result = await sync(snapshotFile([web(["10.0.0.1", "10.0.0.2"])]), remote, "--push-attempts", "2");
    expect(result.code, result.stderr).toBe(9);
    expect(result.stderr).toContain("push lost a race (attempt 1 of 2); starting over");
    // The last lost race is not followed by a new start, only by the error.
    expect(result.stderr).not.toContain("attempt 2 of 2); starting over");
    expect(result.stderr).toContain("mhc: error: push rejected 2 times (the remote keeps moving)");
    const log = git(remote, "log", "--format=%s", "main").trim().split("\n");
    expect(log).toEqual(["someone else", "someone else", "haproxy: +1 app /web"]);
  });
});
