import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import type { SimpleGit } from "simple-git";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { addSecret, log, redact } from "../log.ts";
import { gitClient } from "./git.ts";

/** Where sync publishes: a remote (URL or bare repo, via a cached clone) or a local working repo (in place). */
export type RepoTarget = { kind: "remote"; url: string; display: string } | { kind: "local"; path: string };

export interface Identity {
  name: string;
  email: string;
}

const urlPattern = /^[a-z][a-z0-9+.-]*:\/\//i;
const scpPattern = /^[^/\s]+@[^/\s:]+:/;

export function resolveTarget(repo: string): RepoTarget {
  if (urlPattern.test(repo) || scpPattern.test(repo)) {
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:([^/@]+)@/i.exec(repo);
    if (match?.[1]) {
      addSecret(match[1]);
      addSecret(decodeURIComponent(match[1]));
    }
    return { kind: "remote", url: repo, display: redact(repo) };
  }
  const path = resolve(repo);
  if (!existsSync(path)) return { kind: "local", path };
  if (!statSync(path).isDirectory())
    throw new MhcError(`--repo ${repo} is a file, not a git repository`, ExitCode.usage);
  const entries = readdirSync(path);
  if (entries.length === 0) return { kind: "local", path };
  if (entries.includes(".git")) return { kind: "local", path };
  if (entries.includes("HEAD") && entries.includes("objects") && entries.includes("refs")) {
    return { kind: "remote", url: path, display: path };
  }
  throw new MhcError(`--repo ${repo} is neither a git repository nor an empty folder`, ExitCode.usage);
}

export function defaultWorkdir(target: { display: string }): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const key = createHash("sha256").update(target.display).digest("hex").slice(0, 16);
  return join(cache, "mhc", "sync", key);
}

export function identityEnv(identity: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

export function gitFailure(action: string, error: unknown): MhcError {
  const text = redact(errorMessage(error))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("hint:"));
  const telling = text.find((l) => /^(fatal|error|remote|!)/.test(l)) ?? text[0] ?? "unknown error";
  return new MhcError(`git ${action} failed: ${telling}`, ExitCode.git, { cause: error });
}

/** The commit a branch points to on the remote, or undefined when it does not exist (yet). */
export async function remoteBranchHead(
  git: SimpleGit,
  url: string,
  branch: string,
): Promise<string | undefined> {
  const out = await git.raw(["ls-remote", url, `refs/heads/${branch}`]);
  return out.split(/\s+/)[0] || undefined;
}

/**
 * A clone of `branch` in `workdir`, reset to exactly what the remote has. Anything odd about the
 * work dir (left over, corrupt, another repo) is not trusted: it is wiped and fetched again.
 */
export async function freshClone(
  target: { url: string },
  workdir: string,
  branch: string,
  env: Record<string, string>,
) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await refresh(target.url, workdir, branch, env);
    } catch (error) {
      if (attempt >= 2) throw gitFailure("fetch", error);
      log.warn(
        `work dir ${workdir} is unusable (${redact(errorMessage(error)).split("\n")[0]}); recreating it`,
      );
      await rm(workdir, { recursive: true, force: true });
    }
  }
}

async function refresh(url: string, workdir: string, branch: string, env: Record<string, string>) {
  await mkdir(dirname(workdir), { recursive: true });
  const probe = gitClient(dirname(workdir), env);
  const head = await remoteBranchHead(probe, url, branch);
  if (!head || !existsSync(join(workdir, ".git"))) {
    // Nothing to keep: start clean (the first sync of a missing branch creates it with no history).
    await rm(workdir, { recursive: true, force: true });
    await mkdir(workdir, { recursive: true });
    await gitClient(workdir, env).raw(["init", "--quiet", "-b", branch]);
  }
  const git = gitClient(workdir, env);
  if (head) {
    await git.raw([
      "fetch",
      "--quiet",
      "--no-tags",
      url,
      `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
    ]);
    await git.raw(["checkout", "--quiet", "--force", "-B", branch, `refs/remotes/origin/${branch}`]);
    await git.raw(["clean", "--quiet", "-fdx"]);
  }
  return { git, head };
}

/** Reads `path` as committed at HEAD, or undefined (no commit yet, or no such file). */
export async function committedFile(git: SimpleGit, path: string): Promise<string | undefined> {
  try {
    return await git.show([`HEAD:${path}`]);
  } catch {
    return undefined;
  }
}

/** Writes and commits `files` (paths relative to the repo) as one commit. */
export async function commitFiles(
  git: SimpleGit,
  root: string,
  files: { path: string; content: string }[],
  message: string,
): Promise<string> {
  const paths = files.map((f) => f.path);
  try {
    for (const { path, content } of files) {
      const file = join(root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    await git.raw(["add", "--", ...paths]);
    // Only this path: anything else staged in a person's working repo stays as it was.
    await git.raw([
      "-c",
      "commit.gpgsign=false",
      "commit",
      "--quiet",
      "--no-verify",
      "-m",
      message,
      "--only",
      "--",
      ...paths,
    ]);
    return (await git.raw(["rev-parse", "HEAD"])).trim();
  } catch (error) {
    throw gitFailure("commit", error);
  }
}

export type PushOutcome = "pushed" | "rejected";

/** Pushes HEAD to `ref`; "rejected" when someone else moved the ref first (a race to retry). */
export async function pushHead(
  git: SimpleGit,
  url: string,
  ref: string,
  lease?: string,
): Promise<PushOutcome> {
  const args = ["push", "--porcelain", url, `HEAD:${ref}`];
  if (lease !== undefined) args.splice(1, 0, `--force-with-lease=${ref}:${lease}`);
  try {
    await git.raw(args);
    return "pushed";
  } catch (error) {
    if (
      /\[rejected\]|non-fast-forward|fetch first|stale info|\(stale\)|failed to update ref|cannot lock ref/i.test(
        errorMessage(error),
      )
    ) {
      return "rejected";
    }
    throw gitFailure("push", error);
  }
}
