import { type Layout, orderedParts, partsFolder, partsIndex } from "../core/parts.ts";
import type { Git } from "./git.ts";

/** Reading published files out of a commit, in either layout (one file, or `F.parts`). */

export interface TreeEntry {
  mode: string;
  type: string;
  id: string;
  path: string;
}

/** `git ls-tree -z` of `rev` for `paths` (recursive with `recursive`). */
export async function treeEntries(
  git: Git,
  rev: string,
  paths: string[],
  recursive = false,
): Promise<TreeEntry[]> {
  const listed = await git.git(["ls-tree", "-z", ...(recursive ? ["-r"] : []), rev, "--", ...paths]);
  const entries: TreeEntry[] = [];
  for (const entry of listed.split("\0")) {
    const tab = entry.indexOf("\t");
    if (tab < 0) continue;
    const [mode = "", type = "", id = ""] = entry.slice(0, tab).split(" ");
    entries.push({ mode, type, id, path: entry.slice(tab + 1) });
  }
  return entries;
}

/** The contents of blobs by id, through one `git cat-file --batch`, as bytes. */
async function readBlobBytes(git: Git, ids: string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  if (ids.length === 0) return blobs;
  const result = await git.run(["cat-file", "--batch"], `${ids.join("\n")}\n`);
  if (!result.ok) return blobs;
  const out = result.bytes;
  let at = 0;
  while (at < out.length) {
    const headerEnd = out.indexOf(10, at);
    if (headerEnd < 0) break;
    const [id = "", type, size] = out.toString("latin1", at, headerEnd).split(" ");
    if (type !== "blob" || size === undefined) {
      at = headerEnd + 1;
      continue;
    }
    const start = headerEnd + 1;
    const end = start + Number(size);
    blobs.set(id, out.subarray(start, end));
    at = end + 1;
  }
  return blobs;
}

/** The same, as text. */
export async function readBlobs(git: Git, ids: string[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const [id, bytes] of await readBlobBytes(git, ids)) texts.set(id, bytes.toString("utf8"));
  return texts;
}

/** The blob ids of a parts folder at `rev`, by part name (files directly in the folder only). */
async function partsAt(git: Git, rev: string, folder: string): Promise<Map<string, string>> {
  const parts = new Map<string, string>();
  for (const entry of await treeEntries(git, rev, [`${folder}/`], true))
    if (entry.type === "blob" && entry.path.lastIndexOf("/") === folder.length)
      parts.set(entry.path.slice(folder.length + 1), entry.id);
  return parts;
}

/** The blobs a parts folder joins, in order, with their sizes in bytes (the index last). */
export type PartList = { id: string; size: number }[];

/**
 * A file this host already has, exactly as committed at `rev` (deploy's installed config, checked
 * against its record of commit, path and sha256), and its parts as readPublished listed them for
 * that commit and path: parts it shares with the new commit are taken from it, not from git.
 */
export interface KnownFile {
  rev: string;
  bytes: Buffer;
  parts: PartList;
}

/** Where each part of `known` lies in its bytes, by blob id; undefined when the sizes do not add up. */
function knownParts(known: KnownFile): Map<string, Buffer> | undefined {
  const slices = new Map<string, Buffer>();
  let at = 0;
  for (const part of known.parts.slice(0, -1)) {
    slices.set(part.id, known.bytes.subarray(at, at + part.size));
    at += part.size;
  }
  return at === known.bytes.length ? slices : undefined;
}

/**
 * A published file as committed at `rev`: the file itself, or else its parts folder joined by its
 * index (and the list of its parts). Undefined when neither is there; no `text` when the folder is
 * broken (no index, or an index naming a part that is not there). With `known`, only the parts it
 * lacks are read out of git.
 */
export async function readPublished(
  git: Git,
  rev: string,
  path: string,
  known?: KnownFile,
): Promise<{ layout: Layout; text?: string; parts?: PartList } | undefined> {
  const folder = partsFolder(path);
  const top = await treeEntries(git, rev, [path, folder]).catch(() => []);
  const file = top.find((e) => e.path === path && e.type === "blob");
  if (file) {
    const text = (await readBlobs(git, [file.id])).get(file.id);
    return text === undefined ? undefined : { layout: "single", text };
  }
  if (!top.some((e) => e.path === folder && e.type === "tree")) return undefined;
  const parts = await partsAt(git, rev, folder);
  const reused = known ? knownParts(known) : undefined;
  const wanted = [...new Set(parts.values())].filter((id) => !reused?.has(id));
  const blobs = await readBlobBytes(git, wanted);
  const part = (name: string) => {
    const id = parts.get(name);
    const bytes = id === undefined ? undefined : (blobs.get(id) ?? reused?.get(id));
    return id === undefined || bytes === undefined ? undefined : { id, bytes };
  };
  const index = part(partsIndex);
  const ordered = index === undefined ? undefined : orderedParts(index.bytes.toString("utf8"), part);
  if (!index || !ordered) return { layout: "parts" };
  return {
    layout: "parts",
    // Joined as bytes and decoded once (a part never ends inside a character).
    text: Buffer.concat(ordered.map((p) => p.bytes)).toString("utf8"),
    parts: [...ordered, index].map((p) => ({ id: p.id, size: p.bytes.length })),
  };
}
