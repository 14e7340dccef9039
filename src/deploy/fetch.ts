import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { gitClient } from "../git/git.ts";
import { addSecret, log, redact } from "../log.ts";

export interface FetchRequest {
  /** Remote URL or local path of the config repository. */
  repo: string;
  ref: string;
  /** Path of the config file inside the repository. */
  path: string;
  /** Cache folder for the fetched repository. */
  workdir: string;
}

export interface FetchedConfig {
  commit: string;
  content: string;
}

/** Marks a folder as mhc's own cache, so a corrupt one may be deleted and a foreign one never is. */
const cacheMarker = "mhc-deploy-cache";
/** The only ref the cache keeps: the commit fetched last. */
const targetRef = "refs/mhc/deploy";

/** A local path becomes absolute (git runs inside the cache); URLs stay as they are. Registers credentials. */
export function normaliseRepo(repo: string): string {
  if (repo.startsWith("-"))
    throw new MhcError(`--repo must be a URL or a path, not "${repo}"`, ExitCode.usage);
  try {
    const url = new URL(repo);
    addSecret(url.password);
    addSecret(decodeURIComponent(url.password));
    return repo;
  } catch {
    return existsSync(repo) ? resolve(repo) : repo;
  }
}

/**
 * Default cache: `$XDG_CACHE_HOME/mhc/deploy/<hash>` (or `~/.cache/…`). The hash covers the repo and
 * the target config, so two configs deployed from one repo never share (and race on) a cache.
 */
/** A ref is a branch, tag or commit name; anything that could become a git option or refspec is refused. */
export function checkRef(ref: string): string {
  if (!ref || ref.startsWith("-") || /[\s:]/.test(ref)) {
    throw new MhcError(`--ref must be a branch, tag or commit, not "${ref}"`, ExitCode.usage);
  }
  return ref;
}

export function defaultWorkdir(repo: string, configPath: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const key = createHash("sha256")
    .update(`${repo}\n${resolve(configPath)}`)
    .digest("hex")
    .slice(0, 16);
  return join(base, "mhc", "deploy", key);
}

/**
 * Shallow-fetches `ref` into the cache and reads the config file from that commit. A cache that is
 * missing, broken or fails to fetch is re-created from scratch once, never trusted.
 */
export async function fetchConfig(request: FetchRequest): Promise<FetchedConfig> {
  const reused = await prepareCache(request.workdir);
  try {
    return await fetchAndRead(request);
  } catch (error) {
    if (!reused) throw error;
    log.debug(`retrying with a fresh deploy cache after: ${errorMessage(error)}`);
    await recreateCache(request.workdir);
    const fetched = await fetchAndRead(request);
    log.warn(`the deploy cache ${request.workdir} was broken and has been re-created`);
    return fetched;
  }
}

/** Returns whether an existing cache is being reused. */
async function prepareCache(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new MhcError(`cannot read the deploy cache ${dir}: ${error.message}`, ExitCode.io, {
      cause: error,
    });
  });
  if (entries === undefined || entries.length === 0) {
    await recreateCache(dir);
    return false;
  }
  if (!entries.includes(cacheMarker)) {
    throw new MhcError(
      `--workdir ${dir} is not empty and not an mhc deploy cache; refusing to use or delete it`,
      ExitCode.io,
    );
  }
  const bare = await gitClient(dir)
    .raw(["rev-parse", "--is-bare-repository"])
    .catch(() => "");
  if (bare.trim() === "true") return true;
  await recreateCache(dir);
  return false;
}

async function recreateCache(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, cacheMarker), "Cache of `mhc deploy`; safe to delete.\n");
  } catch (error) {
    throw new MhcError(`cannot create the deploy cache ${dir}: ${errorMessage(error)}`, ExitCode.io, {
      cause: error,
    });
  }
  try {
    await gitClient(dir).init(true);
  } catch (error) {
    throw new MhcError(`git init failed in ${dir} (is git installed?): ${gitReason(error)}`, ExitCode.git, {
      cause: error,
    });
  }
}

async function fetchAndRead({ repo, ref, path, workdir }: FetchRequest): Promise<FetchedConfig> {
  const git = gitClient(workdir);
  try {
    await git.raw(["fetch", "--depth=1", "--no-tags", "--force", "--", repo, `+${ref}:${targetRef}`]);
  } catch (error) {
    throw new MhcError(`cannot fetch ${ref} from ${repo}: ${gitReason(error)}`, ExitCode.git, {
      cause: error,
    });
  }
  let commit: string;
  try {
    commit = (await git.raw(["rev-parse", "--verify", `${targetRef}^{commit}`])).trim();
  } catch (error) {
    throw new MhcError(`${ref} of ${repo} is not a commit: ${gitReason(error)}`, ExitCode.git, {
      cause: error,
    });
  }
  let content: string;
  try {
    content = await git.raw(["cat-file", "blob", `${commit}:${path}`]);
  } catch (error) {
    throw new MhcError(
      `${path} does not exist at ${ref} (commit ${commit.slice(0, 12)}) of ${repo}`,
      ExitCode.git,
      {
        cause: error,
      },
    );
  }
  return { commit, content };
}

/** git's own last `fatal:`/`error:` line, credentials removed. */
function gitReason(error: unknown): string {
  const lines = errorMessage(error)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return redact(lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? "unknown git error");
}
