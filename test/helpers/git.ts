import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const identity = {
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...identity },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function tempDir(prefix = "mhc-git-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A new, empty bare repository: the "remote" a sync publishes to. */
export function bareRepo(): string {
  const dir = tempDir("mhc-remote-");
  git(dir, "init", "--quiet", "--bare", "-b", "main");
  return dir;
}

export function commits(repo: string, branch = "main"): string[] {
  try {
    return git(repo, "log", "--format=%H", branch).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

export function message(repo: string, ref = "main"): string {
  return git(repo, "log", "-1", "--format=%B", ref);
}

export function fileAt(repo: string, ref: string, path: string): string | undefined {
  try {
    return git(repo, "show", `${ref}:${path}`);
  } catch {
    return undefined;
  }
}

/** Installs a hook script (sh) in a bare repo. */
export function hook(repo: string, name: string, script: string): void {
  const file = join(repo, "hooks", name);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
}
