import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { ExitCode, MhcError } from "../errors.ts";
import type { Git } from "./git.ts";
import { folderError } from "./workdir.ts";

/** What a repo's config asks of the loose objects written into it. */
interface LooseObjectSettings {
  /** core.sharedRepository: git gives objects and their folders the group's (or everyone's) permissions. */
  shared: boolean;
  /** core.fsync (or the older core.fsyncObjectFiles): each loose object is flushed to disk. */
  fsync: boolean;
}

/** By objects folder: read once per process (a watch commits into the same repo for weeks). */
const settingsByFolder = new Map<string, LooseObjectSettings>();

const falseWords = new Set(["", "false", "no", "off", "0"]);

/**
 * Whether git's `core.fsync` components (applied in order to git's default, which leaves loose
 * objects out) include loose objects. Aggregates as git defines them: objects, committed, added, all.
 */
export function fsyncsLooseObjects(fsync: string | undefined, fsyncObjectFiles: string | undefined): boolean {
  let loose = fsyncObjectFiles !== undefined && !falseWords.has(fsyncObjectFiles.toLowerCase());
  for (const raw of (fsync ?? "").split(",")) {
    const word = raw.trim().toLowerCase();
    const remove = word.startsWith("-");
    const name = remove ? word.slice(1) : word;
    if (name === "none") loose = false;
    else if (["loose-object", "objects", "committed", "added", "all"].includes(name)) loose = !remove;
  }
  return loose;
}

async function settingsOf(git: Git, objects: string): Promise<LooseObjectSettings> {
  const known = settingsByFolder.get(objects);
  if (known) return known;
  const listed = await git.run([
    "config",
    "-z",
    "--get-regexp",
    "^core\\.(sharedrepository|fsync|fsyncobjectfiles)$",
  ]);
  const values = new Map<string, string>();
  if (listed.ok)
    for (const entry of listed.stdout.split("\0")) {
      const cut = entry.indexOf("\n");
      if (cut > 0) values.set(entry.slice(0, cut).toLowerCase(), entry.slice(cut + 1));
    }
  const shared = values.get("core.sharedrepository")?.toLowerCase();
  const settings = {
    shared: shared !== undefined && shared !== "umask" && !falseWords.has(shared),
    fsync: fsyncsLooseObjects(values.get("core.fsync"), values.get("core.fsyncobjectfiles")),
  };
  settingsByFolder.set(objects, settings);
  return settings;
}

/**
 * Whether a stored object exists, given the time of now as git does before it would store it
 * again: a gc prunes unreferenced objects by their age, and this one is about to be referenced.
 */
function freshened(file: string): boolean {
  try {
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return false; // missing, or not ours to touch: stored anew
  }
}

/**
 * Stores each content as a loose blob the way git does: `blob <size>\0<content>` deflated, written
 * to a temp file beside its place under the objects folder and renamed into it, read-only (flushed
 * first when the repo's core.fsync asks). mhc has each id already, and one git process hashing
 * and compressing a watch's hundred parts again cost more than the rest of the commit. A repo
 * shared with a group (core.sharedRepository) has git store them, with the permissions it gives.
 * git then reads back what each blob holds (its type and size).
 */
export async function storeBlobs(
  git: Git,
  objects: string,
  files: { path: string; content: string; id: string }[],
): Promise<void> {
  if (files.length === 0) return;
  const settings = await settingsOf(git, objects);
  if (settings.shared) await storeThroughGit(git, objects, files);
  // Synchronous calls: a hundred small files cost less CPU this way than as promises.
  else for (const { content, id } of files) storeLoose(objects, content, id, settings.fsync);
  const expected = files.map(({ content, id }) => `${id} blob ${Buffer.byteLength(content)}`);
  const stored = (await git.git(["cat-file", "--batch-check"], `${files.map((f) => f.id).join("\n")}\n`))
    .trim()
    .split("\n");
  files.forEach((file, i) => {
    if (stored[i] !== expected[i])
      throw new MhcError(
        `git stored something other than the rendered ${file.path}; nothing committed`,
        ExitCode.git,
      );
  });
}

function storeLoose(objects: string, content: string, id: string, fsync: boolean): void {
  const folder = join(objects, id.slice(0, 2));
  const file = join(folder, id.slice(2));
  if (freshened(file)) return;
  const body = Buffer.from(content, "utf8");
  const stored = deflateSync(Buffer.concat([Buffer.from(`blob ${body.length}\0`), body]), { level: 1 });
  const temp = join(folder, `tmp_obj_mhc_${process.pid}_${randomBytes(6).toString("hex")}`);
  try {
    mkdirSync(folder, { recursive: true });
    const fd = openSync(temp, "wx", 0o444);
    try {
      writeSync(fd, stored);
      if (fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // The write's own error is the one to report.
    }
    throw folderError(`cannot store a blob in ${objects}`, "--repo", error);
  }
}

/** `git hash-object -w` on the contents, from files in the objects folder's parent (the git dir). */
async function storeThroughGit(git: Git, objects: string, files: { content: string }[]): Promise<void> {
  const dir = join(objects, "..");
  const paths = files.map(() => join(dir, `mhc-blob-${process.pid}-${randomBytes(6).toString("hex")}`));
  try {
    files.forEach(({ content }, i) => {
      writeFileSync(paths[i] as string, content, { flag: "wx", mode: 0o600 });
    });
    await git.git(["hash-object", "-w", "--no-filters", "--stdin-paths"], `${paths.join("\n")}\n`);
  } catch (error) {
    if (error instanceof MhcError) throw error;
    throw folderError(`cannot store a blob in ${objects}`, "--repo", error);
  } finally {
    for (const path of paths) rmSync(path, { force: true });
  }
}
