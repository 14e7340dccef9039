import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { lstat, mkdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ExitCode, MhcError } from "../errors.ts";
import { acquireLock } from "../io/lock.ts";
import { log, redact } from "../log.ts";
import { type Git, type GitOptions, gitFailure, gitIn } from "./git.ts";
import { storeBlobs } from "./objects.ts";
import { treeEntries } from "./tree.ts";
import {
  cacheDir,
  folderError,
  folderState,
  makeFolder,
  recreateFolder,
  registerCredentials,
} from "./workdir.ts";

/** How `mhc sync` publishes: a remote through a cached clone it owns, or a local working repo in place. */

/** A remote (URL or bare repo, via a cached clone) or a local working repo (in place). */
export type RepoTarget =
  | { kind: "remote"; url: string; display: string }
  | { kind: "local"; path: string; exists: boolean };

export interface Identity {
  name: string;
  email: string;
}

const urlPattern = /^[a-z][a-z0-9+.-]*:\/\//i;
const scpPattern = /^[^/\s]+@[^/\s:]+:/;

/** What `--repo` names. A repo is only created where `--init` asks for it. */
export function resolveTarget(repo: string, init: boolean): RepoTarget {
  if (urlPattern.test(repo) || scpPattern.test(repo)) {
    registerCredentials(repo);
    return { kind: "remote", url: repo, display: redact(repo) };
  }
  const path = resolve(repo);
  const newRepo = (why: string): RepoTarget => {
    if (!init)
      throw new MhcError(
        `--repo ${repo} ${why}: pass --init to create a new repo there, or check the path`,
        ExitCode.usage,
      );
    return { kind: "local", path, exists: false };
  };
  if (!existsSync(path)) return newRepo("does not exist");
  if (!statSync(path).isDirectory())
    throw new MhcError(`--repo ${repo} is a file, not a git repository`, ExitCode.usage);
  const entries = readdirSync(path);
  if (entries.length === 0) return newRepo("is an empty folder");
  if (entries.includes(".git")) return { kind: "local", path, exists: true };
  if (entries.includes("HEAD") && entries.includes("objects") && entries.includes("refs")) {
    return { kind: "remote", url: path, display: path };
  }
  throw new MhcError(`--repo ${repo} is neither a git repository nor an empty folder`, ExitCode.usage);
}

function defaultWorkdir(target: { display: string }): string {
  return cacheDir("sync", target.display);
}

export function identityEnv(identity: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

/** Where a sync commits: the git client of that folder, and the URL to push to (none: local repo). */
export interface Checkout {
  git: Git;
  pushUrl?: string;
}

export interface Workspace {
  /** The checkout, fresh from the remote; undefined for a local repo a dry run did not create. */
  checkout(): Promise<Checkout | undefined>;
  release(): Promise<void>;
}

/**
 * What one sync works in, locked for the whole run: the work dir of a remote (`--workdir` or the
 * default cache) or the local working repo itself.
 */
export async function openWorkspace(
  target: RepoTarget,
  options: { branch: string; workdir: string | undefined; create: boolean; git: GitOptions },
): Promise<Workspace> {
  if (target.kind === "remote") {
    const workdir = resolve(options.workdir ?? defaultWorkdir(target));
    const release = await lockWorkdir(workdir, options.workdir === undefined);
    return { checkout: () => refreshWorkdir(target, workdir, options.branch, options.git), release };
  }
  if (!target.exists && !options.create) return { checkout: async () => undefined, release: async () => {} };
  const { checkout, release } = await lockLocalRepo(target, options.branch, options.git);
  return { checkout: async () => checkout, release };
}

/**
 * Marks a sync work dir as mhc's (inside `.git`, where `git clean` and checkouts never reach).
 * Only a folder holding it is ever reset, cleaned or deleted.
 */
const workdirMarker = join(".git", "mhc-sync-workdir");

/**
 * The sync work dir, checked and locked: syncs sharing it on one machine take turns. A folder that
 * is neither new nor marked as mhc's is refused (exit 2), never touched. The default work dir lives
 * in mhc's own cache folder and is mhc's by construction (also one an earlier version left unmarked).
 */
async function lockWorkdir(workdir: string, isDefault: boolean): Promise<() => Promise<void>> {
  await makeFolder(dirname(workdir), "--workdir");
  const release = await acquireLock(`${workdir}.lock`, {
    holder: "another sync of this work dir",
    waitMs: 120_000,
  }).catch((error: unknown) => {
    throw error instanceof MhcError && error.exitCode === ExitCode.io
      ? folderError(`cannot lock the work dir ${workdir}`, "--workdir", error.cause ?? error)
      : error;
  });
  if (!isDefault && (await folderState(workdir, workdirMarker, "--workdir")) === "foreign") {
    await release();
    throw new MhcError(
      `--workdir ${workdir} is not empty and was not created by mhc (no ${workdirMarker}); refusing to use or delete it: pass a new or empty folder`,
      ExitCode.usage,
    );
  }
  return release;
}

/** The commit a branch points to on the remote, or undefined when it does not exist (yet). */
export async function remoteBranchHead(git: Git, url: string, branch: string): Promise<string | undefined> {
  const out = await git.git(["ls-remote", "--", url, `refs/heads/${branch}`]);
  return out.split(/\s+/)[0] || undefined;
}

/**
 * The work dir, reset to exactly what the remote has on `branch`. An unreachable remote leaves it
 * as it is (the next run fetches only what changed); a work dir that is not a sound git repo is
 * deleted and cloned again.
 */
async function refreshWorkdir(
  target: { url: string; display: string },
  workdir: string,
  branch: string,
  options: GitOptions,
): Promise<Checkout> {
  const git = gitIn(workdir, options);
  const checkout = { git, pushUrl: target.url };
  const head = await remoteBranchHead(gitIn(dirname(workdir), options), target.url, branch);
  if (!head) {
    // The branch does not exist yet: the first sync creates it, with no history.
    await resetWorkdir(git, branch);
    return checkout;
  }
  if (pushedFrom.get(`${workdir}\u0000${branch}`) === head && (await holdsOnly(git, branch, head)))
    return checkout;
  if (!(await isRepoRoot(git))) {
    if (existsSync(join(workdir, ".git")))
      log.warn(`work dir ${workdir} is not a sound git repo; recreating it`);
    await resetWorkdir(git, branch);
  }
  const fresh = !(await git.run(["rev-parse", "--verify", "--quiet", "HEAD"])).ok;
  if (fresh)
    log.info(
      `cloning ${branch} of ${target.display} into ${workdir} (first run; later runs fetch only changes)`,
    );
  const fetched = await fetchBranch(git, target.url, branch);
  if (fetched.ok) return checkout;
  // A fetch fails because of the remote (keep the clone) or because the clone is damaged (start again).
  // A git lock file here is stale (this run holds the work dir's lock): a git killed mid-operation.
  const staleGitLock = /Unable to create '[^']*\.lock': File exists/.test(fetched.stderr);
  if (!staleGitLock && (await git.run(["fsck", "--connectivity-only", "--no-progress"])).ok)
    throw gitFailure("fetch", fetched.stderr);
  log.warn(`work dir ${workdir} is damaged (${fetched.stderr.trim().split("\n")[0]}); recreating it`);
  await resetWorkdir(git, branch);
  const again = await fetchBranch(git, target.url, branch);
  if (!again.ok) throw gitFailure("fetch", again.stderr);
  return checkout;
}

/**
 * What this process last pushed from each work dir to each branch. While the remote branch is still
 * there and the work dir's branch (checked out, nothing else in the folder) too, nothing needs
 * fetching: a watch saves a fetch and two git processes per sync.
 */
const pushedFrom = new Map<string, string>();

/**
 * Records a push and lets git pack the work dir's loose objects when there are many (the fetch a
 * watch skips would have): a long watch adds about a hundred per sync in the parts layout.
 */
export async function markPushed(git: Git, branch: string, commit: string): Promise<void> {
  pushedFrom.set(`${git.dir}\u0000${branch}`, commit);
  const maintained = await git.run(["maintenance", "run", "--auto", "--quiet"]);
  if (!maintained.ok) log.debug(`git maintenance in the work dir: ${maintained.stderr.trim()}`);
}

async function holdsOnly(git: Git, branch: string, commit: string): Promise<boolean> {
  if (readdirSync(git.dir).some((name) => name !== ".git")) return false;
  const local = await git.run(["rev-parse", "--absolute-git-dir", "HEAD", "--symbolic-full-name", "HEAD"]);
  const [gitDir = "", head, ref] = local.stdout.trim().split("\n");
  return (
    local.ok &&
    resolve(gitDir) === resolve(git.dir, ".git") &&
    ref === `refs/heads/${branch}` &&
    head === commit
  );
}

async function isRepoRoot(git: Git): Promise<boolean> {
  if (!existsSync(join(git.dir, ".git"))) return false;
  const top = await git.run(["rev-parse", "--absolute-git-dir"]);
  return top.ok && resolve(top.stdout.trim()) === resolve(git.dir, ".git");
}

async function resetWorkdir(git: Git, branch: string): Promise<void> {
  await recreateFolder(git.dir, "--workdir");
  await git.git(["init", "--quiet", "-b", branch]);
  try {
    await writeFile(join(git.dir, workdirMarker), "Work dir of `mhc sync`; safe to delete.\n");
  } catch (error) {
    throw folderError(`cannot write to ${git.dir}`, "--workdir", error);
  }
}

async function fetchBranch(git: Git, url: string, branch: string) {
  const remoteRef = `refs/remotes/origin/${branch}`;
  const fetched = await git.run([
    "fetch",
    "--quiet",
    "--no-tags",
    "--",
    url,
    `+refs/heads/${branch}:${remoteRef}`,
  ]);
  if (!fetched.ok) return fetched;
  // Nothing is checked out: commits are built from git's objects (commitFiles), so writing out and
  // re-reading 10+ MB of files per sync is skipped. Files an older mhc checked out are removed, once:
  // a work dir that holds only `.git` needs neither step (two git processes less per watch sync).
  const leftovers = readdirSync(git.dir).some((name) => name !== ".git");
  for (const args of [
    ["update-ref", `refs/heads/${branch}`, remoteRef],
    ["symbolic-ref", "HEAD", `refs/heads/${branch}`],
    ...(leftovers
      ? [
          ["read-tree", "--empty"],
          ["clean", "--quiet", "-fdx"],
        ]
      : []),
  ]) {
    const done = await git.run(args);
    if (!done.ok) return done;
  }
  return fetched;
}

/**
 * A person's working repo, committed to in place. Syncs to it take turns through a lock in its git
 * dir, so each run compares with and reports exactly what it committed itself.
 */
async function lockLocalRepo(
  target: { path: string; exists: boolean },
  branch: string,
  options: GitOptions,
): Promise<{ checkout: Checkout; release: () => Promise<void> }> {
  const git = gitIn(target.path, options);
  if (!target.exists) {
    try {
      await mkdir(target.path, { recursive: true });
    } catch (error) {
      throw folderError(`cannot create ${target.path}`, "--repo", error);
    }
    await git.git(["init", "--quiet", "-b", branch]);
  }
  const gitDir = (await git.git(["rev-parse", "--absolute-git-dir"])).trim();
  const release = await acquireLock(join(gitDir, "mhc-sync.lock"), {
    holder: `another sync of ${target.path}`,
    waitMs: 120_000,
  });
  const current = (await git.run(["symbolic-ref", "--short", "HEAD"])).stdout.trim();
  if (current !== branch) {
    await release();
    throw new MhcError(
      `${target.path} has branch "${current}" checked out, not "${branch}": check out ${branch} or pass --branch ${current}`,
      ExitCode.git,
    );
  }
  return { checkout: { git }, release };
}

/** Reads `path` as committed at HEAD, or undefined (no commit yet, or no such file). */
export async function committedFile(git: Git, path: string): Promise<string | undefined> {
  const shown = await git.run(["cat-file", "blob", `HEAD:${path}`]);
  return shown.ok ? shown.stdout : undefined;
}

/**
 * Refuses a path that leads through a symlink (the file or any folder above it) or into `.git`:
 * writing there would change files outside the repo, or git's own.
 */
async function checkWritablePath(root: string, path: string): Promise<void> {
  let current = root;
  for (const part of path.split("/")) {
    current = join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (!info) return;
    if (info.isSymbolicLink())
      throw symlinkError(current.slice(root.length + 1), current === join(root, path));
  }
}

function symlinkError(path: string, isFile: boolean): MhcError {
  return new MhcError(
    `${path} is a symlink in the repo; mhc never writes through one (replace it with a regular ${isFile ? "file" : "folder"})`,
    ExitCode.git,
  );
}

/** The same refusal for what `commit` holds: a symlink committed at a path or a folder above it. */
async function refuseCommittedSymlinks(git: Git, commit: string, paths: string[]): Promise<void> {
  const prefixes = new Set(
    paths.flatMap((path) => path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"))),
  );
  const listed = await git.git(["ls-tree", "-z", commit, "--", ...prefixes]);
  for (const entry of listed.split("\0")) {
    const [info, path] = entry.split("\t");
    if (path !== undefined && info?.startsWith("120000 ")) throw symlinkError(path, paths.includes(path));
  }
}

/** The id git gives a blob of `content`, worked out here (git is asked to store only new blobs). */
function blobId(content: string): string {
  return createHash("sha1")
    .update(`blob ${Buffer.byteLength(content)}\0`)
    .update(content, "utf8")
    .digest("hex");
}

/**
 * Ids of the contents this process committed last, by path: a watch commits mostly the same parts
 * again, and comparing a part with what was there costs less than hashing it.
 */
let lastIds = new Map<string, { content: string; id: string }>();

function idOf(file: { path: string; content: string }): string {
  const last = lastIds.get(file.path);
  return last?.content === file.content ? last.id : blobId(file.content);
}

/** What `git commit` does to a message it is not asked to edit: trailing blanks and extra empty lines go. */
function cleanMessage(message: string): string {
  const lines = message.split("\n").map((line) => line.trimEnd());
  const kept = lines.filter((line, i) => line !== "" || (i > 0 && lines[i - 1] !== ""));
  while (kept[0] === "") kept.shift();
  while (kept.at(-1) === "") kept.pop();
  return kept.length === 0 ? "" : `${kept.join("\n")}\n`;
}

const zeroId = "0".repeat(40);

/**
 * The index this process built its last commit's tree in, that tree, and the index file's identity
 * then: another process sharing the work dir (they take turns) may have written it since.
 */
let keptIndex: { file: string; tree: string; stamp: string } | undefined;

async function stampOf(file: string): Promise<string> {
  const info = await stat(file, { bigint: true }).catch(() => undefined);
  return info ? `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}` : "";
}

/** The folders a commit of `paths` and `remove` can change, to list what HEAD has there. */
function foldersOf(paths: string[], remove: string[]): string[] {
  const folders = new Set<string>(remove);
  for (const path of paths) folders.add(path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : path);
  return [...folders].filter((f) => ![...folders].some((o) => f.startsWith(`${o}/`)));
}

/** Every folder a path lies in: "a/b/c" → "a", "a/b". */
function foldersHolding(path: string): string[] {
  const folders: string[] = [];
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1))
    folders.push(path.slice(0, slash));
  return folders;
}

const under = (path: string, target: string) => path === target || path.startsWith(`${target}/`);

/**
 * Commits `files` (paths relative to the repo) onto HEAD as one commit holding HEAD's tree with
 * just those files changed and whatever HEAD has at `remove` (files or folders) gone, except the
 * files written; anything else staged in a person's working repo stays out, as with `git commit
 * --only`. Only blobs git does not already have at those paths are stored, and nothing is checked
 * out or read back unless `worktree` (a person's working repo gets the files and its index is
 * updated for them). The branch moves only if nothing moved it meanwhile. Returns the new commit,
 * after checking it holds exactly these contents.
 */
export async function commitFiles(
  git: Git,
  files: { path: string; content: string }[],
  message: string,
  options: { worktree: boolean; remove?: string[]; fileOnly?: string[] },
): Promise<string> {
  const paths = files.map((f) => f.path);
  const remove = options.remove ?? [];
  // The git dir, its objects folder, HEAD and its tree in one process (there are a dozen per sync);
  // no HEAD yet: the folders.
  const whereAll = ["rev-parse", "--absolute-git-dir", "--git-path", "objects", "--show-object-format"];
  const all = await git.run([...whereAll, "HEAD", "HEAD^{tree}"]);
  const [gitDir = "", objectsPath = "", format, parent, headTree] = (
    all.ok ? all.stdout : await git.git(whereAll)
  )
    .trim()
    .split("\n");
  // mhc names blobs by their SHA-1 itself.
  if (format !== "sha1")
    throw new MhcError(
      `the repo stores its objects by ${format}; mhc commits to SHA-1 repos only (git's default): use another --repo`,
      ExitCode.git,
    );
  const objects = resolve(git.dir, objectsPath);
  const folders = foldersOf(paths, remove);
  // Folders and whole files: a part's own path needs no look (it is written as a blob, never through).
  if (parent) await refuseCommittedSymlinks(git, parent, [...new Set([...folders, ...remove])]);
  const existing = parent ? await treeEntries(git, parent, folders, true) : [];
  // A path that is a file in either layout never replaces a folder of the repo (its files would go).
  const existingFolders = new Set(existing.flatMap((e) => foldersHolding(e.path)));
  const folder = [...paths, ...(options.fileOnly ?? [])].find((p) => existingFolders.has(p));
  if (folder !== undefined)
    throw new MhcError(
      `${folder} is a folder in the repo; mhc never replaces a folder with a file: choose another --path`,
      ExitCode.git,
    );
  const had = new Map(existing.map((e) => [e.path, e.id]));
  const withIds = files.map((file) => ({ ...file, id: idOf(file) }));
  const written = new Set(paths);
  const gone = existing.filter((e) => !written.has(e.path) && remove.some((r) => under(e.path, r)));
  const changed = withIds.filter((f) => had.get(f.path) !== f.id);
  if (options.worktree) {
    // Files removed are checked like files written: never through a symlink out of the repo.
    for (const path of [...paths, ...gone.map((e) => e.path)]) await checkWritablePath(git.dir, path);
    for (const { path, content } of files) {
      const file = join(git.dir, path);
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      } catch (error) {
        throw folderError(`cannot write ${file}`, "--repo", error);
      }
    }
    for (const { path } of gone) await rm(join(git.dir, path), { force: true });
    // A folder of the other layout, emptied, goes too (rmdir leaves a folder that still holds anything).
    for (const target of remove) {
      const folder = join(git.dir, target);
      if ((await lstat(folder).catch(() => undefined))?.isDirectory()) await rmdir(folder).catch(() => {});
    }
  }
  await storeBlobs(git, objects, changed);
  const removals = gone.map((e) => `0 ${zeroId}\t${e.path}\0`);
  const indexInfo = [...changed.map((f) => `100644 ${f.id}\t${f.path}\0`), ...removals].join("");
  // The tree is built in an index of mhc's own, so a person's staged changes are not committed. It
  // is kept for the next commit of this process, which starts from the tree it wrote.
  const index = join(gitDir, "mhc-commit.index");
  const own = { GIT_INDEX_FILE: index };
  let tree: string;
  try {
    // Left by a sync that was killed (this one holds the repo's sync lock).
    await rm(`${index}.lock`, { force: true });
    const kept =
      keptIndex?.file === index &&
      keptIndex.tree === headTree &&
      keptIndex.stamp !== "" &&
      keptIndex.stamp === (await stampOf(index));
    if (!kept) await git.git(parent ? ["read-tree", parent] : ["read-tree", "--empty"], undefined, own);
    keptIndex = undefined;
    await git.git(["update-index", "-z", "--index-info"], indexInfo, own);
    tree = (await git.git(["write-tree"], undefined, own)).trim();
    keptIndex = { file: index, tree, stamp: await stampOf(index) };
  } catch (error) {
    await rm(index, { force: true });
    throw error;
  }
  if (parent && tree === headTree)
    throw new MhcError(
      `git commit did not record the rendered files ${describe(paths)}; nothing pushed`,
      ExitCode.git,
    );
  const text = cleanMessage(message);
  const commit = (
    await git.git(
      ["-c", "commit.gpgsign=false", "commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"],
      text,
    )
  ).trim();
  const subject = text.split("\n")[0] ?? "";
  await git.git(["update-ref", "-m", `commit: ${subject}`, "HEAD", commit, parent ?? ""]);
  // A person's index gets every file as committed, as `git commit --only` leaves it.
  if (options.worktree)
    await git.git(
      ["update-index", "-z", "--index-info"],
      [...withIds.map((f) => `100644 ${f.id}\t${f.path}\0`), ...removals].join(""),
    );
  const committed = new Map((await treeEntries(git, commit, folders, true)).map((e) => [e.path, e.id]));
  const exact =
    withIds.every((f) => committed.get(f.path) === f.id) &&
    [...committed.keys()].every((path) => written.has(path) || !remove.some((r) => under(path, r)));
  if (!exact)
    throw new MhcError(
      `git commit did not record the rendered files ${describe(paths)}; nothing pushed`,
      ExitCode.git,
    );
  lastIds = new Map(withIds.map((f) => [f.path, { content: f.content, id: f.id }]));
  return commit;
}

/** Paths for a message: a parts folder's hundreds of files named by their folder. */
function describe(paths: string[]): string {
  return paths.length <= 3
    ? paths.join(", ")
    : `${paths.slice(0, 2).join(", ")} and ${paths.length - 2} more`;
}

export type PushOutcome = "pushed" | "rejected";

/** Pushes HEAD to `ref`; "rejected" when someone else moved the ref first (a race to retry). */
export async function pushHead(git: Git, url: string, ref: string, lease?: string): Promise<PushOutcome> {
  const args = ["push", "--porcelain", url, `HEAD:${ref}`];
  if (lease !== undefined) args.splice(1, 0, `--force-with-lease=${ref}:${lease}`);
  const pushed = await git.run(args);
  if (pushed.ok) return "pushed";
  const output = `${pushed.stdout}\n${pushed.stderr}`;
  if (
    /\[rejected\]|non-fast-forward|fetch first|stale info|\(stale\)|failed to update ref|cannot lock ref/i.test(
      output,
    )
  )
    return "rejected";
  throw gitFailure("push", output);
}
