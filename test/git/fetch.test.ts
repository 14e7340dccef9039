import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fetchConfig } from "../../src/git/fetch.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, git, tempDir } from "../helpers/git.ts";

describe("deploy's fetch cache", () => {
  it("a cache that cannot be created names the path and --workdir: exit 8", async () => {
    const dir = tempDir();
    const result = await runMhc([
      "deploy",
      "--repo",
      bareRepo(),
      "--config",
      join(dir, "haproxy.cfg"),
      "--reload-cmd",
      "true",
      "--workdir",
      "/sys/mhc-deploy-cache",
    ]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain(
      "cannot create /sys/mhc-deploy-cache: permission denied (--workdir chooses another place)",
    );
  });

  it("keeps only the commit fetched last, its config stored without compression", async () => {
    const remote = bareRepo();
    const clone = tempDir();
    git(clone, "init", "--quiet", "--initial-branch=main");
    mkdirSync(join(clone, "haproxy"));
    const push = (content: string) => {
      writeFileSync(join(clone, "haproxy", "haproxy.cfg"), content);
      git(clone, "add", "-A");
      git(clone, "commit", "--quiet", "-m", "config");
      git(clone, "push", "--quiet", remote, "HEAD:refs/heads/main");
      return git(clone, "rev-parse", "HEAD").trim();
    };
    // Repetitive like a rendered config: zlib would shrink it to a small fraction.
    const config = (n: number) =>
      Array.from({ length: 4000 }, (_, i) => `  server s${i} 10.0.0.${n}:80\n`).join("");
    const workdir = join(tempDir(), "cache");
    const fetch = () => fetchConfig({ repo: remote, ref: "main", path: "haproxy/haproxy.cfg", workdir });
    const first = push(config(1));
    expect((await fetch()).commit).toBe(first);
    const second = push(config(2));
    const fetched = await fetch();
    expect(fetched).toEqual({ commit: second, content: config(2) });
    const has = (object: string) => spawnSync("git", ["-C", workdir, "cat-file", "-e", object]).status === 0;
    expect(has(second)).toBe(true);
    expect(has(first)).toBe(false);
    const blob = git(workdir, "rev-parse", `${second}:haproxy/haproxy.cfg`).trim();
    const stored = statSync(join(workdir, "objects", blob.slice(0, 2), blob.slice(2))).size;
    expect(stored).toBeGreaterThan(config(2).length);
  });
});
