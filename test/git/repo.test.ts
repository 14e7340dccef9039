import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSnapshot } from "../../scripts/bench/generate.ts";
import { gitIn } from "../../src/git/git.ts";
import { commitFiles, markPushed, resolveTarget } from "../../src/git/repo.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { repoRoot, runMhc } from "../helpers/cli.ts";
import { bareRepo, commits, fileAt, git, tempDir } from "../helpers/git.ts";

const cache = tempDir("mhc-cache-");
const env = { XDG_CACHE_HOME: cache };
const path = "haproxy/haproxy.cfg";

function snapshotFile(hosts: string[]): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  const tasks = hosts.map((h, i) => task({ id: `web.${h}`, host: h, ports: [31000 + i] }));
  writeFileSync(file, JSON.stringify(snapshotOf(hostApp("/web", [10000], tasks))));
  return file;
}

const sync = (from: string, repo: string, ...extra: string[]) =>
  runMhc(["sync", "--from", from, "--repo", repo, ...extra], { env, timeoutMs: 120_000 });

/** A bare remote whose main branch holds `files` (path → content, or a symlink target with `link:`). */
function remoteWith(files: Record<string, string>): string {
  const remote = bareRepo();
  const work = tempDir("mhc-seed-");
  git(work, "init", "-q", "-b", "main");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(work, name, ".."), { recursive: true });
    if (content.startsWith("link:")) symlinkSync(content.slice(5), join(work, name));
    else writeFileSync(join(work, name), content);
  }
  git(work, "add", "-A");
  git(work, "commit", "-qm", "seed");
  git(work, "push", "-q", remote, "HEAD:main");
  return remote;
}

describe("sync never deletes or cleans a folder mhc did not create", () => {
  it("a --workdir holding someone's files is refused with exit 2 and left exactly as it was", async () => {
    const remote = bareRepo();
    const workdir = tempDir("mhc-precious-");
    writeFileSync(join(workdir, "notes.txt"), "precious\n");
    const result = await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--workdir ${workdir} is not empty and was not created by mhc`);
    expect(readFileSync(join(workdir, "notes.txt"), "utf8")).toBe("precious\n");
    expect(commits(remote)).toHaveLength(0);
  });

  it("a --workdir that is someone's checkout is neither reset nor cleaned", async () => {
    const remote = remoteWith({ README: "hello\n" });
    const workdir = tempDir("mhc-checkout-");
    git(workdir, "clone", "-q", remote, ".");
    writeFileSync(join(workdir, "README"), "local edit\n");
    writeFileSync(join(workdir, "untracked.txt"), "mine\n");
    const result = await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir);
    expect(result.code).toBe(2);
    expect(readFileSync(join(workdir, "README"), "utf8")).toBe("local edit\n");
    expect(readFileSync(join(workdir, "untracked.txt"), "utf8")).toBe("mine\n");
  });

  it("a --workdir mhc created is reused run after run", async () => {
    const remote = bareRepo();
    const workdir = join(tempDir(), "sync-work");
    expect((await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir)).code).toBe(0);
    expect(existsSync(join(workdir, ".git", "mhc-sync-workdir"))).toBe(true);
    expect((await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), remote, "--workdir", workdir)).code).toBe(0);
    expect(commits(remote)).toHaveLength(2);
  });
});

describe("the sync work dir", () => {
  it("holds no checked-out files: commits are built from git's objects, files an older mhc checked out are removed", async () => {
    const remote = bareRepo();
    const workdir = join(tempDir(), "sync-work");
    expect((await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir)).code).toBe(0);
    writeFileSync(join(workdir, "left-by-an-older-mhc.cfg"), "old\n");
    const next = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), remote, "--workdir", workdir);
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(workdir)).toEqual([".git"]);
    expect(fileAt(remote, "main", path)).toContain("10.0.0.2:31001");
    expect(git(remote, "fsck", "--no-progress", "--strict")).toBe("");
  });

  it("a commit message is stored as git commit -F stores it (trailing blanks, repeated empty lines cleaned)", async () => {
    const text = "\n\nhaproxy: /web +1 server  \n\n\n\n- 10.0.0.2:31001 \t\n\n\nMarathon: x\n\n\n";
    const repo = tempDir("mhc-plumbing-");
    git(repo, "init", "-q", "-b", "main");
    const commit = await commitFiles(gitIn(repo), [{ path: "a.cfg", content: "x\n" }], text, {
      worktree: false,
    });
    const reference = tempDir("mhc-porcelain-");
    git(reference, "init", "-q", "-b", "main");
    writeFileSync(join(reference, "a.cfg"), "x\n");
    git(reference, "add", "a.cfg");
    execFileSync("git", ["commit", "-q", "-F", "-"], { cwd: reference, input: text });
    const body = (dir: string, ref: string) =>
      git(dir, "cat-file", "commit", ref).split("\n\n").slice(1).join("\n\n");
    expect(body(repo, commit)).toBe(body(reference, "HEAD"));
    expect(git(repo, "rev-parse", `${commit}^{tree}`)).toBe(git(reference, "rev-parse", "HEAD^{tree}"));
  });
});

describe("the blobs mhc stores itself", () => {
  it("are the blobs git would store: same ids, same bytes read back, fsck --strict clean, in a linked worktree too", async () => {
    const repo = tempDir("mhc-blobs-");
    git(repo, "init", "-q", "-b", "main");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const linked = join(tempDir("mhc-linked-"), "wt");
    git(repo, "worktree", "add", "-q", "-b", "side", linked);
    const files = [
      { path: "big.cfg", content: `${"backend b\n  server s 10.0.0.1:1\n".repeat(60_000)}` },
      { path: "parts/ünïcode", content: "# ✓ — ünïcode\n" },
      { path: "parts/empty", content: "" },
      { path: "parts/no-newline", content: "x" },
    ];
    for (const dir of [repo, linked]) {
      const commit = await commitFiles(gitIn(dir), files, "blobs", { worktree: false });
      for (const { path: file, content } of files) {
        const id = git(dir, "rev-parse", `${commit}:${file}`).trim();
        expect(id).toBe(
          execFileSync("git", ["hash-object", "--stdin"], { input: content }).toString().trim(),
        );
        expect(
          execFileSync("git", ["cat-file", "blob", id], { cwd: dir, maxBuffer: 1 << 26 }).toString(),
        ).toBe(content);
      }
    }
    expect(git(repo, "fsck", "--no-progress", "--strict")).toBe("");
    // A linked worktree has no objects of its own: they are the repo's.
    expect(existsSync(join(repo, ".git", "worktrees", "wt", "objects"))).toBe(false);
  });
  it("an unreferenced object already stored gets a fresh time, as git gives it, so a gc does not prune it under the commit", async () => {
    const repo = tempDir("mhc-blobs-");
    git(repo, "init", "-q", "-b", "main");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const id = execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: repo, input: "x\n" })
      .toString()
      .trim();
    const object = join(repo, ".git", "objects", id.slice(0, 2), id.slice(2));
    utimesSync(object, new Date("2020-01-01"), new Date("2020-01-01"));
    await commitFiles(gitIn(repo), [{ path: "a.cfg", content: "x\n" }], "x", { worktree: false });
    expect(Date.now() - statSync(object).mtimeMs).toBeLessThan(60_000);
    git(repo, "gc", "-q", "--prune=2.weeks.ago");
    expect(execFileSync("git", ["cat-file", "blob", "HEAD:a.cfg"], { cwd: repo }).toString()).toBe("x\n");
  });

  it("a repo whose objects are named by SHA-256 is refused with exit 9 and one line, nothing committed", async () => {
    const repo = tempDir("mhc-sha256-");
    git(repo, "init", "-q", "-b", "main", "--object-format=sha256");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const head = git(repo, "rev-parse", "HEAD");
    const result = await sync(snapshotFile(["10.0.0.1"]), repo);
    expect(result.code).toBe(9);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      /objects by sha256; mhc commits to SHA-1 repos only/,
    );
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
  });

  it("a corrupt object already at a new blob's place stops the commit, and the branch stays", async () => {
    const repo = tempDir("mhc-blobs-");
    git(repo, "init", "-q", "-b", "main");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const head = git(repo, "rev-parse", "HEAD");
    const id = execFileSync("git", ["hash-object", "--stdin"], { input: "x\n" }).toString().trim();
    mkdirSync(join(repo, ".git", "objects", id.slice(0, 2)), { recursive: true });
    writeFileSync(join(repo, ".git", "objects", id.slice(0, 2), id.slice(2)), "not a zlib stream");
    await expect(
      commitFiles(gitIn(repo), [{ path: "a.cfg", content: "x\n" }], "x", { worktree: false }),
    ).rejects.toThrow(/git/);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
  });
});

describe("a remote outage keeps the sync cache", () => {
  it("an unreachable remote exits 9 and leaves the clone; the next run fetches into it", async () => {
    const bare = bareRepo();
    const remote = `file://${bare}`;
    const workdir = join(tempDir(), "cache");
    expect((await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir)).code).toBe(0);
    const object = git(workdir, "rev-parse", "HEAD").trim();
    renameSync(bare, `${bare}.away`);
    const down = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), remote, "--workdir", workdir);
    expect(down.code).toBe(9);
    expect(down.stderr).not.toContain("recreating");
    expect(git(workdir, "cat-file", "-t", object).trim()).toBe("commit");
    renameSync(`${bare}.away`, bare);
    const back = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), remote, "--workdir", workdir);
    expect(back.code).toBe(0);
    expect(back.stderr).not.toContain("recreating");
    expect(back.stderr).not.toContain("cloning");
    expect(commits(bare)).toHaveLength(2);
  });

  it("a git lock left in the work dir by a git killed mid-operation is not fatal on every later run", async () => {
    const remote = bareRepo();
    const workdir = join(tempDir(), "cache");
    expect((await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir)).code).toBe(0);
    // What git leaves behind when it is killed (--git-timeout, systemd stop, power loss).
    writeFileSync(join(workdir, ".git", "index.lock"), "");
    writeFileSync(join(workdir, ".git", "HEAD.lock"), "");
    const next = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), remote, "--workdir", workdir);
    expect(next.code, next.stderr).toBe(0);
    expect(commits(remote)).toHaveLength(2);
    expect(fileAt(remote, "main", path)).toContain("10.0.0.2:31001");
  });

  it("a long first clone says what it is doing, once", async () => {
    const remote = remoteWith({ README: "hello\n" });
    const workdir = join(tempDir(), "cache");
    const first = await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir);
    expect(first.stderr).toContain(`cloning main of ${remote} into ${workdir}`);
    const second = await sync(snapshotFile(["10.0.0.2"]), remote, "--workdir", workdir);
    expect(second.stderr).not.toContain("cloning");
  });
});

describe("sync never writes through a symlink out of the repo", () => {
  for (const [what, files] of [
    [
      "haproxy/haproxy.cfg committed as a symlink",
      (outside: string) => ({ [path]: `link:${outside}/target.cfg` }),
    ],
    ["the haproxy/ folder committed as a symlink", (outside: string) => ({ haproxy: `link:${outside}` })],
  ] as const) {
    it(`${what}: exit 9, nothing outside written, nothing pushed`, async () => {
      const outside = tempDir("mhc-outside-");
      writeFileSync(join(outside, "target.cfg"), "untouched\n");
      if (what.includes("folder")) writeFileSync(join(outside, "haproxy.cfg"), "untouched\n");
      const remote = remoteWith(files(outside));
      const before = commits(remote);
      const result = await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", join(tempDir(), "w"));
      expect(result.code, result.stderr).toBe(9);
      expect(result.stderr).toContain("is a symlink in the repo; mhc never writes through one");
      expect(result.stderr).not.toContain("pushed");
      expect(readFileSync(join(outside, "target.cfg"), "utf8")).toBe("untouched\n");
      if (what.includes("folder"))
        expect(readFileSync(join(outside, "haproxy.cfg"), "utf8")).toBe("untouched\n");
      expect(commits(remote)).toEqual(before);
    });
  }

  it("a symlink in a local working repo: exit 9, its target untouched", async () => {
    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile(["10.0.0.1"]), repo, "--init")).code).toBe(0);
    const outside = join(tempDir("mhc-outside-"), "target.cfg");
    writeFileSync(outside, "untouched\n");
    git(repo, "rm", "-q", path);
    mkdirSync(join(repo, "haproxy"), { recursive: true }); // still holds the model file
    symlinkSync(outside, join(repo, path));
    git(repo, "add", path);
    git(repo, "commit", "-qm", "link");
    const result = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), repo);
    expect(result.code).toBe(9);
    expect(readFileSync(outside, "utf8")).toBe("untouched\n");
  });

  it("--layout parts: the parts folder committed as a symlink, or a part that is one in a local working repo: exit 9, targets untouched", async () => {
    const outside = tempDir("mhc-outside-");
    writeFileSync(join(outside, "index"), "untouched\n");
    const remote = remoteWith({ [`${path}.parts`]: `link:${outside}` });
    const before = commits(remote);
    const linked = await sync(snapshotFile(["10.0.0.1"]), remote, "--layout", "parts");
    expect(linked.code, linked.stderr).toBe(9);
    expect(linked.stderr).toContain(`${path}.parts is a symlink in the repo`);
    expect(commits(remote)).toEqual(before);
    expect(readFileSync(join(outside, "index"), "utf8")).toBe("untouched\n");

    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile(["10.0.0.1"]), repo, "--init", "--layout", "parts")).code).toBe(0);
    const target = join(outside, "part.cfg");
    writeFileSync(target, "untouched\n");
    const index = readFileSync(join(repo, `${path}.parts`, "index"), "utf8")
      .trim()
      .split("\n");
    const part = join(repo, `${path}.parts`, index[0] as string);
    rmSync(part);
    symlinkSync(target, part);
    const local = await sync(snapshotFile(["10.0.0.1", "10.0.0.2"]), repo, "--layout", "parts");
    expect(local.code).toBe(9);
    expect(readFileSync(target, "utf8")).toBe("untouched\n");
  });

  it("switching a local working repo from parts to one file never removes files through a symlinked parts folder", async () => {
    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile(["10.0.0.1"]), repo, "--init", "--layout", "parts")).code).toBe(0);
    const victim = tempDir("mhc-victim-");
    const folder = join(repo, `${path}.parts`);
    for (const name of readdirSync(folder)) writeFileSync(join(victim, name), "precious\n");
    rmSync(folder, { recursive: true });
    symlinkSync(victim, folder);
    const result = await sync(snapshotFile(["10.0.0.1"]), repo, "--layout", "single");
    expect(result.code, result.stderr).toBe(9);
    expect(result.stderr).toContain("is a symlink in the repo");
    for (const name of readdirSync(victim))
      expect(readFileSync(join(victim, name), "utf8")).toBe("precious\n");
    expect(readdirSync(victim).length).toBeGreaterThan(1);
  });

  it("--path may not point into .git/", async () => {
    const result = await sync(snapshotFile(["10.0.0.1"]), bareRepo(), "--path", ".git/config");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--path must be a file path inside the repo (not in .git)");
  });
});

describe("concurrent syncs to a local working repo", () => {
  it("four syncs at once all exit 0, and each reports the commit that holds its own config", async () => {
    const repo = join(tempDir(), "cfg");
    expect((await sync(snapshotFile(["10.0.1.0"]), repo, "--init")).code).toBe(0);
    const snapshots = [1, 2, 3, 4].map((n) =>
      snapshotFile(Array.from({ length: n + 1 }, (_, i) => `10.0.1.${i}`)),
    );
    const results = await Promise.all(
      snapshots.map((from) => sync(from, repo, "--json", "--max-drop", "100")),
    );
    for (const [i, result] of results.entries()) {
      expect(result.code, result.stderr).toBe(0);
      const reported = JSON.parse(result.stdout);
      const rendered = (await runMhc(["render", "--from", snapshots[i] as string])).stdout;
      expect(fileAt(repo, reported.commit, path)).toBe(rendered);
      // The counts it reports are the diff its commit holds.
      const servers = (ref: string) => new Set((fileAt(repo, ref, path) ?? "").match(/^ {2}server .*$/gm));
      const [mine, parent] = [servers(reported.commit), servers(`${reported.commit}~1`)];
      expect(reported.counts.serversAdded).toBe([...mine].filter((s) => !parent.has(s)).length);
      expect(reported.counts.serversRemoved).toBe([...parent].filter((s) => !mine.has(s)).length);
    }
    expect(commits(repo)).toHaveLength(5);
  });
});

describe("creating a repo needs --init", () => {
  it("a missing --repo path without --init is exit 2 and creates nothing", async () => {
    const repo = join(tempDir(), "nope", "repo.git");
    const result = await sync(snapshotFile(["10.0.0.1"]), repo);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("does not exist: pass --init to create a new repo there");
    expect(existsSync(repo)).toBe(false);
  });

  it("an empty folder without --init is exit 2", async () => {
    const result = await sync(snapshotFile(["10.0.0.1"]), tempDir());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--init");
  });
});

describe("the README's examples", () => {
  it("quickstart: npm run example's sync --init creates ./haproxy-config with one commit", async () => {
    const cwd = tempDir();
    const script = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).scripts.example as string;
    const args = script.replace(/^bun src\/cli\.ts /, "").split(" ");
    expect(args).toContain("--init");
    const from = join(repoRoot, "fixtures/example/apps.json");
    const result = await runMhc(
      args.map((a) => (a === "fixtures/example/apps.json" ? from : a)),
      { cwd, env },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(commits(join(cwd, "haproxy-config"))).toHaveLength(1);
  });

  it("a bare repo made with git init --bare --initial-branch=main takes a first sync", async () => {
    const remote = join(tempDir(), "haproxy-config.git");
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
    const result = await sync(join(repoRoot, "fixtures/example/apps.json"), remote);
    expect(result.code, result.stderr).toBe(0);
    expect(commits(remote)).toHaveLength(1);
  });
});

describe("permission errors name the path and the option", () => {
  it("a work dir that cannot be created names it and --workdir: exit 8", async () => {
    const result = await sync(snapshotFile(["10.0.0.1"]), bareRepo(), "--workdir", "/sys/mhc-sync-work");
    expect(result.code).toBe(8);
    expect(result.stderr).toContain("/sys/mhc-sync-work");
    expect(result.stderr).toContain("permission denied (--workdir chooses another place)");
  });

  it("an unwritable default cache names it and --workdir: exit 8", async () => {
    const result = await runMhc(["sync", "--from", snapshotFile(["10.0.0.1"]), "--repo", bareRepo()], {
      env: { XDG_CACHE_HOME: "/sys/mhc-cache" },
    });
    expect(result.code).toBe(8);
    expect(result.stderr).toContain("/sys/mhc-cache/mhc/sync");
    expect(result.stderr).toContain("--workdir");
  });
});

describe("the commit message goes to git through stdin", () => {
  it("a first sync of 10,000 apps × 10 tasks into an empty bare repo succeeds", async () => {
    const file = join(tempDir("mhc-snap-"), "apps.json");
    writeFileSync(file, JSON.stringify(generateSnapshot({ apps: 10_000, tasksPerApp: 10, seed: 7 })));
    const remote = bareRepo();
    const result = await sync(file, remote, "--validate", "never");
    expect(result.code, result.stderr).toBe(0);
    expect(commits(remote)).toHaveLength(1);
    expect(Number(git(remote, "cat-file", "-s", `main:${path}`))).toBeGreaterThan(1_000_000);
  }, 180_000);
});

describe("what --repo names", () => {
  const bare = bareRepo();
  const file = join(tempDir(), "file");
  writeFileSync(file, "x");
  it.each([
    ["https://git.example/ops/cfg.git", false, "remote"],
    ["ssh://git@git.example/ops/cfg.git", false, "remote"],
    ["git@git.example:ops/cfg.git", false, "remote"],
    [bare, false, "remote"],
    [join(tempDir(), "new"), true, "local"],
  ])("%s (--init %s) is a %s target", (repo, init, kind) => {
    expect(resolveTarget(repo, init).kind).toBe(kind);
  });

  it.each([
    [join(tempDir(), "missing"), "does not exist: pass --init"],
    [tempDir(), "is an empty folder: pass --init"],
    [file, "is a file, not a git repository"],
  ])("%s without --init is a usage error", (repo, message) => {
    expect(() => resolveTarget(repo, false)).toThrow(message);
  });
});

describe("git credentials", () => {
  it("the clone's git config does not store the repo URL", async () => {
    const remote = bareRepo();
    const workdir = join(tempDir(), "work");
    const result = await sync(snapshotFile(["10.0.0.1"]), remote, "--workdir", workdir);
    expect(result.code, result.stderr).toBe(0);
    expect(commits(remote)).toHaveLength(1);
    expect(readFileSync(join(workdir, ".git", "config"), "utf8")).not.toContain(remote);
  });

  it("git never prompts: a remote asking for a password fails at once with exit 9", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const url = `http://127.0.0.1:${port}/cfg.git`;
      const result = await sync(snapshotFile(["10.0.0.1"]), url, "--git-timeout", "20");
      expect(result.code).toBe(9);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.stderr).toContain("terminal prompts disabled");
    } finally {
      server.close();
    }
  });
});

describe("the default work dir", () => {
  it("is keyed by the repo URL without its credentials: a rotated password reuses the clone", async () => {
    const remote = bareRepo();
    const xdg = tempDir("mhc-xdg-");
    const run = (password: string, hosts: string[]) =>
      runMhc(
        ["sync", "--from", snapshotFile(hosts), "--repo", `file://deployer:${password}@localhost${remote}`],
        { env: { XDG_CACHE_HOME: xdg } },
      );
    const first = await run("0ld-pw", ["10.0.0.1"]);
    expect(first.code, first.stderr).toBe(0);
    const second = await run("n3w-pw", ["10.0.0.1", "10.0.0.2"]);
    expect(second.code, second.stderr).toBe(0);
    expect(commits(remote)).toHaveLength(2);
    const clones = readdirSync(join(xdg, "mhc", "sync")).filter((name) => !name.endsWith(".lock"));
    expect(clones).toHaveLength(1);
    const config = readFileSync(join(xdg, "mhc", "sync", clones[0] as string, ".git", "config"), "utf8");
    for (const text of [config, first.stderr, second.stderr]) expect(text).not.toMatch(/0ld-pw|n3w-pw/);
  });
});

describe("a long watch keeps its work dir packed", () => {
  it("after a push, git packs the work dir's loose objects once there are many (git maintenance --auto)", async () => {
    const repo = tempDir("mhc-loose-");
    git(repo, "init", "-q", "-b", "main");
    for (let i = 0; i < 2000; i++) writeFileSync(join(repo, `f${i}`), `${i}\n`);
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "many");
    const loose = () => Number(/^count: (\d+)$/m.exec(git(repo, "count-objects", "-v"))?.[1]);
    expect(loose()).toBeGreaterThan(2000);
    const config = join(tempDir("mhc-gitconfig-"), "config");
    writeFileSync(config, "[gc]\n\tauto = 256\n\tautoDetach = false\n");
    const saved = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = config;
    try {
      await markPushed(gitIn(repo), "main", git(repo, "rev-parse", "HEAD").trim());
    } finally {
      if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = saved;
    }
    expect(loose()).toBeLessThan(100);
  });
});

describe("the commit index a watch keeps between syncs", () => {
  it("is read again from HEAD when another process wrote it since (a sync of another --path in the same work dir)", async () => {
    const repo = tempDir("mhc-kept-index-");
    git(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "other.txt"), "kept\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "start");
    const watch = gitIn(repo);
    await commitFiles(watch, [{ path: "a.cfg", content: "one\n" }], "one", { worktree: false });
    // Another sync, taking its turn in the same work dir, builds its own tree in the same index file.
    const index = join(repo, ".git", "mhc-commit.index");
    const env = { ...process.env, GIT_INDEX_FILE: index };
    execFileSync("git", ["read-tree", "--empty"], { cwd: repo, env });
    writeFileSync(join(repo, "held.cfg"), "held for review\n");
    execFileSync("git", ["update-index", "--add", "held.cfg"], { cwd: repo, env });
    const commit = await commitFiles(watch, [{ path: "a.cfg", content: "two\n" }], "two", {
      worktree: false,
    });
    expect(git(repo, "ls-tree", "--name-only", commit).trim().split("\n")).toEqual(["a.cfg", "other.txt"]);
  });
});
