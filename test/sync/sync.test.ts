import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, commits, fileAt, git, hook, message, tempDir } from "../helpers/git.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort } from "../helpers/net.ts";

const cache = tempDir("mhc-cache-");
const env = { XDG_CACHE_HOME: cache };
const path = "haproxy/haproxy.cfg";

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
    expect(text).toContain("+ backend new_10002 (app /new) (1 server)");
    expect(text).toContain("- backend api_10001 (app /api) (1 server)");
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
    expect(text).toContain("    balance: roundrobin -> leastconn");
    expect(text).toContain("    mode: tcp -> http");
    expect(text).toContain("    health check: (none) -> GET /health");
    expect(text).toContain("Tasks not in the config:\n    /web web.new: state TASK_STAGING");
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
