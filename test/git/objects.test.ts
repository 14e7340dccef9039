import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gitIn } from "../../src/git/git.ts";
import { fsyncsLooseObjects } from "../../src/git/objects.ts";
import { commitFiles } from "../../src/git/repo.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { mhcCommand, repoRoot } from "../helpers/cli.ts";
import { git, tempDir } from "../helpers/git.ts";

/** Runs `mhc sync` under a given umask (sh sets it, then runs mhc). */
function syncUnder(umask: string, from: string, repo: string): void {
  const { cmd, args } = mhcCommand();
  execFileSync(
    "sh",
    ["-c", `umask ${umask}; exec "$@"`, "sh", cmd, ...args, "sync", "--from", from, "--repo", repo],
    {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: tempDir("mhc-cache-") },
      stdio: "pipe",
    },
  );
}

const idOf = (content: string) =>
  execFileSync("git", ["hash-object", "--stdin"], { input: content }).toString().trim();

describe("blobs mhc stores in a repo shared with a group (core.sharedRepository=group)", () => {
  it("get the permissions git gives its own objects: group-writable setgid folders, group-readable files, even under umask 077", () => {
    const repo = tempDir("mhc-shared-");
    git(repo, "init", "-q", "-b", "main", "--shared=group");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const from = join(tempDir("mhc-snap-"), "apps.json");
    writeFileSync(
      from,
      JSON.stringify(snapshotOf(hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31000] })]))),
    );
    syncUnder("077", from, repo);
    const blobs = git(repo, "ls-tree", "-r", "--format=%(objectname)", "HEAD").trim().split("\n");
    expect(blobs.length).toBeGreaterThan(0);
    for (const id of blobs) {
      const folder = join(repo, ".git", "objects", id.slice(0, 2));
      expect({ id, folder: (statSync(folder).mode & 0o2070).toString(8) }).toEqual({ id, folder: "2070" });
      const file = join(folder, id.slice(2));
      expect({ id, file: (statSync(file).mode & 0o040).toString(8) }).toEqual({ id, file: "40" });
    }
  });
});

describe("a blob that cannot be stored", () => {
  it("is exit 8 naming the objects folder, even when the temp file cannot be removed either", async () => {
    const repo = tempDir("mhc-blobs-");
    git(repo, "init", "-q", "-b", "main");
    git(repo, "commit", "-q", "--allow-empty", "-m", "seed");
    const id = idOf("x\n");
    // A file where the blob's fan-out folder belongs.
    writeFileSync(join(repo, ".git", "objects", id.slice(0, 2)), "not a folder\n");
    const head = git(repo, "rev-parse", "HEAD");
    const failure = await commitFiles(gitIn(repo), [{ path: "a.cfg", content: "x\n" }], "x", {
      worktree: false,
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ exitCode: 8 });
    expect(String((failure as Error).message)).toMatch(/^cannot store a blob in .*objects/);
    expect(git(repo, "rev-parse", "HEAD")).toBe(head);
  });
});

describe("core.fsync", () => {
  it.each([
    [undefined, undefined, false],
    ["loose-object", undefined, true],
    ["objects", undefined, true],
    ["committed", undefined, true],
    ["added", undefined, true],
    ["all", undefined, true],
    ["all,-loose-object", undefined, false],
    ["pack,reference", undefined, false],
    ["none", undefined, false],
    ["all,none", undefined, false],
    [undefined, "true", true],
    [undefined, "false", false],
    ["none", "true", false],
  ])("core.fsync=%s, core.fsyncObjectFiles=%s: loose objects flushed: %s", (fsync, objectFiles, flushed) => {
    expect(fsyncsLooseObjects(fsync, objectFiles)).toBe(flushed);
  });

  it("a repo asking for flushed loose objects takes a commit as any other", async () => {
    const repo = tempDir("mhc-fsync-");
    git(repo, "init", "-q", "-b", "main");
    git(repo, "config", "core.fsync", "loose-object");
    const commit = await commitFiles(gitIn(repo), [{ path: "a.cfg", content: "y\n" }], "y", {
      worktree: false,
    });
    expect(git(repo, "rev-parse", `${commit}:a.cfg`).trim()).toBe(idOf("y\n"));
  });
});
