import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { partsFolder } from "../core/parts.ts";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { log } from "../log.ts";
import { type Git, gitIn, gitReason } from "./git.ts";
import { type KnownFile, type PartList, readPublished } from "./tree.ts";
import { cacheDir, folderError, folderState, recreateFolder, registerCredentials } from "./workdir.ts";

/** How `mhc deploy` reads one file of one commit: a shallow fetch into a bare cache of its own. */

export interface FetchRequest {
  /** Remote URL or local path of the config repository. */
  repo: string;
  ref: string;
  /** Path of the config file inside the repository. */
  path: string;
  /** Cache folder for the fetched repository. */
  workdir: string;
  /** Deadline of each git call. */
  gitTimeoutMs?: number;
  /**
   * The installed config, exactly `path` at commit `rev` (deploy's record says so and its sha256
   * proves it): parts the new commit shares are taken from it.
   */
  installed?: { rev: string; bytes: Buffer };
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
  registerCredentials(repo);
  if (URL.canParse(repo)) return repo;
  return existsSync(repo) ? resolve(repo) : repo;
}

/** A ref is a branch, tag or commit name; anything that could become a git option or refspec is refused. */
export function checkRef(ref: string): string {
  if (!ref || ref.startsWith("-") || /[\s:]/.test(ref)) {
    throw new MhcError(`--ref must be a branch, tag or commit, not "${ref}"`, ExitCode.usage);
  }
  return ref;
}

/**
 * Default cache. The hash covers the repo and the target config, so two configs deployed from one
 * repo never share (and race on) a cache.
 */
export function defaultDeployCache(repo: string, configPath: string): string {
  return cacheDir("deploy", `${repo}\n${resolve(configPath)}`);
}

/**
 * Shallow-fetches `ref` into the cache and reads the config file from that commit. A cache that is
 * missing, broken or fails to fetch is re-created from scratch once, never trusted.
 */
export async function fetchConfig(request: FetchRequest): Promise<FetchedConfig> {
  const git = gitIn(request.workdir, { timeoutMs: request.gitTimeoutMs });
  const reused = await prepareCache(git);
  try {
    return await fetchAndRead(git, request);
  } catch (error) {
    if (!reused) throw error;
    log.debug(`retrying with a fresh deploy cache after: ${errorMessage(error)}`);
    await recreateCache(git);
    const fetched = await fetchAndRead(git, request);
    log.warn(`the deploy cache ${request.workdir} was broken and has been re-created`);
    return fetched;
  }
}

/** Returns whether an existing cache is being reused. */
async function prepareCache(git: Git): Promise<boolean> {
  const state = await folderState(git.dir, cacheMarker, "--workdir");
  if (state === "foreign") {
    throw new MhcError(
      `--workdir ${git.dir} is not empty and not an mhc deploy cache; refusing to use or delete it`,
      ExitCode.io,
    );
  }
  if (state === "owned") {
    const bare = await git.run(["rev-parse", "--is-bare-repository"]);
    if (bare.ok && bare.stdout.trim() === "true") return true;
  }
  await recreateCache(git);
  return false;
}

async function recreateCache(git: Git): Promise<void> {
  await recreateFolder(git.dir, "--workdir");
  try {
    await writeFile(join(git.dir, cacheMarker), "Cache of `mhc deploy`; safe to delete.\n");
  } catch (error) {
    throw folderError(`cannot create the deploy cache ${git.dir}`, "--workdir", error);
  }
  await git.git(["init", "--quiet", "--bare"]);
}

/**
 * The fetch stores the config as a loose object without zlib (`core.looseCompression=0`): writing
 * and reading back 10 MB then costs about 50 ms less. The transfer is unchanged (the remote sends a
 * delta against the commit the cache holds). Nothing but the fetched commit is kept (`prune`), so
 * the cache holds one config, not every one fetched.
 */
async function fetchAndRead(git: Git, request: FetchRequest): Promise<FetchedConfig> {
  const { repo, ref, path } = request;
  const fetched = await git.run([
    "-c",
    "core.looseCompression=0",
    "fetch",
    "--depth=1",
    "--no-tags",
    "--force",
    "--",
    repo,
    `+${ref}:${targetRef}`,
  ]);
  if (!fetched.ok)
    throw new MhcError(`cannot fetch ${ref} from ${repo}: ${gitReason(fetched.stderr)}`, ExitCode.git);
  const resolved = await git.run(["rev-parse", "--verify", `${targetRef}^{commit}`]);
  if (!resolved.ok)
    throw new MhcError(`${ref} of ${repo} is not a commit: ${gitReason(resolved.stderr)}`, ExitCode.git);
  const commit = resolved.stdout.trim();
  const published = await readPublished(git, commit, path, await withPartList(git, path, request.installed));
  const at = `at ${ref} (commit ${commit.slice(0, 12)}) of ${repo}`;
  if (!published) throw new MhcError(`${path} does not exist ${at}`, ExitCode.git);
  if (published.text === undefined)
    throw new MhcError(
      `${partsFolder(path)} is broken ${at}: its index is missing or names a part that is not there`,
      ExitCode.git,
    );
  await writePartList(git, commit, path, published.parts);
  const pruned = await git.run(["prune", "--expire=now"]);
  if (!pruned.ok) log.debug(`the deploy cache keeps older commits: ${gitReason(pruned.stderr)}`);
  return { commit, content: published.text };
}

/**
 * Beside the cache's commit: the parts `path` had there and their sizes, so the next deploy knows
 * where each lies in the installed file. Without a list for exactly that commit and path, nothing
 * is taken from the installed file.
 */
const partListFile = "mhc-parts.json";

async function withPartList(
  git: Git,
  path: string,
  installed: FetchRequest["installed"],
): Promise<KnownFile | undefined> {
  if (!installed) return undefined;
  const saved = await readFile(join(git.dir, partListFile), "utf8").then(
    (text) => JSON.parse(text) as { commit?: unknown; path?: unknown; parts?: unknown },
    () => undefined,
  );
  const sound = (p: unknown) =>
    typeof p === "object" &&
    p !== null &&
    /^[0-9a-f]{40}$/.test(String((p as { id?: unknown }).id)) &&
    Number.isSafeInteger((p as { size?: unknown }).size);
  if (saved?.commit !== installed.rev || saved.path !== path) return undefined;
  if (!Array.isArray(saved.parts) || !saved.parts.every(sound)) return undefined;
  return { ...installed, parts: saved.parts as PartList };
}

async function writePartList(
  git: Git,
  commit: string,
  path: string,
  parts: PartList | undefined,
): Promise<void> {
  const file = join(git.dir, partListFile);
  // Only a hint: a missing or stale list makes the next deploy read every part out of git.
  await (parts ? writeFile(file, JSON.stringify({ commit, path, parts })) : rm(file, { force: true })).catch(
    () => {},
  );
}

/** How much history `deploy --status` fetches to count the commits a host is behind. */
const behindDepth = 200;

/**
 * How many commits `to` (the remote branch) has that `from` (the installed commit) lacks, counted in
 * the deploy cache after deepening `ref` to `behindDepth` commits. Undefined when `from` is not among
 * them (further behind, or not an ancestor: the branch was rewritten).
 */
export async function commitsBehind(
  request: Pick<FetchRequest, "repo" | "ref" | "workdir" | "gitTimeoutMs">,
  from: string,
  to: string,
): Promise<number | undefined> {
  if (from === to) return 0;
  const git = gitIn(request.workdir, { timeoutMs: request.gitTimeoutMs });
  const { repo, ref } = request;
  await git.git([
    "fetch",
    `--depth=${behindDepth}`,
    "--no-tags",
    "--force",
    "--",
    repo,
    `+${ref}:refs/mhc/status`,
  ]);
  if (!(await git.run(["merge-base", "--is-ancestor", from, to])).ok) return undefined;
  return Number((await git.git(["rev-list", "--count", `${from}..${to}`])).trim());
}
