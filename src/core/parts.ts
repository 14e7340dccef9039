import { flat } from "./flat.ts";

/**
 * The parts layout (`sync --layout parts`): a published file F is committed as the folder
 * `F.parts`, holding the file cut into parts and an `index` naming them in order. Joined in that
 * order they are F, byte for byte. Git stores every version of a file whole, so a one-line change
 * to a 10 MB config costs git 10 MB; in parts it costs the few parts the change falls in.
 *
 * Cuts depend only on the text around them (content-defined): a cut falls before a boundary line
 * (a section in the config, an entry in the model file) whose hash is 0 modulo `linesPerCut`, or
 * that ends a long part. A change inside a part, or an app added or removed, leaves the other parts
 * and their names as they were.
 */

/** How the repo stores each published file: whole, or as a folder of parts. */
export type Layout = "single" | "parts";

export const partsFolder = (path: string) => `${path}.parts`;
export const partsIndex = "index";

/** On average one boundary line in this many starts a new part (~7 KB of config at 10,000 apps). */
const linesPerCut = 16;
/** A part this long ends at the next boundary line whatever its hash (after a huge shared frontend). */
const longPart = 64 * 1024;

export type PartsKind = "config" | "model";

interface Part {
  name: string;
  text: string;
}

/**
 * FNV-1a over UTF-16 code units, then murmur3's finaliser: FNV's low bits alone follow too few of
 * the input's (names that differ in a digit or two would rarely cut). The same on every runtime.
 */
function lineHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

const partName = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

/**
 * The lines a cut may fall before, and what names them. Config: a section (`backend app_x`), named
 * after it so a reviewer sees which sections a changed part holds. Model: an entry of a list (a
 * service, an excluded task, a dropped app), keyed by its first line with content.
 */
const boundaryLines: Record<PartsKind, RegExp> = {
  config: /\n([a-z][^\n]*)/g,
  model: /\n( {4}\{[^\n]*)/g,
};

function boundaryKey(kind: PartsKind, text: string, line: string, end: number): string {
  if (kind === "config" || line.length > 5) return line;
  const nextEnd = text.indexOf("\n", end + 1);
  return text.slice(end + 1, nextEnd < 0 ? text.length : nextEnd);
}

function nameOf(kind: PartsKind, key: string): string {
  if (kind === "model") return `${lineHash(key).toString(16).padStart(8, "0")}.part`;
  const words = key.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+|-+$/g, "");
  return `${words.slice(0, 100) || "part"}.cfg`;
}

/** The parts of the last split of a file, by the key of the line each starts with (see splitIntoParts). */
export type PartsMemo = ReadonlyMap<string, string>;

/**
 * Cuts `text` into parts (concatenated in order they are `text`) and writes their index. With
 * `previous` (the memo of the last split of the same file), a part that starts like one of the last
 * split, holds the same text and still ends at a cut is taken as it is: a watch's sync splits only
 * what changed, with exactly the cuts a split from scratch makes. The memo it returns holds flat
 * strings, so no part keeps an older text alive.
 */
export function splitIntoParts(
  text: string,
  kind: PartsKind,
  previous?: PartsMemo,
): { index: string; parts: Part[]; memo: PartsMemo } {
  const parts: Part[] = [];
  const memo = new Map<string, string>();
  const taken = new Set<string>();
  let partStart = 0;
  let partKey = "start";
  const close = (end: number, known?: string) => {
    const base = nameOf(kind, partKey);
    let name = base;
    // Compared without case: a checkout on a case-insensitive file system must not merge two parts.
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = base.replace(/(\.[a-z]+)$/, `~${n}$1`);
    taken.add(name.toLowerCase());
    // A copy: a slice would keep the whole text alive for as long as the part is kept.
    const part = known ?? flat(` ${text.slice(partStart, end)}`).slice(1);
    memo.set(partKey, part);
    parts.push({ name, text: part });
  };
  const cutsBefore = (start: number, key: string) =>
    lineHash(key) % linesPerCut === 0 || start - partStart >= longPart;
  // A regular expression finds the boundary lines: several times faster than looking at every line.
  const lines = new RegExp(boundaryLines[kind]);
  const firstLine = lines.exec(`\n${text.slice(0, text.indexOf("\n") + 1 || text.length)}`)?.[1];
  if (firstLine !== undefined) partKey = boundaryKey(kind, text, firstLine, firstLine.length);
  lines.lastIndex = 0;
  for (;;) {
    const known = previous?.get(partKey);
    if (known !== undefined && text.startsWith(known, partStart)) {
      const end = partStart + known.length;
      if (end === text.length) {
        close(end, known);
        break;
      }
      lines.lastIndex = end - 1;
      const next = lines.exec(text);
      const line = next?.index === end - 1 ? (next[1] as string) : undefined;
      const key = line === undefined ? undefined : boundaryKey(kind, text, line, end + line.length);
      if (key !== undefined && cutsBefore(end, key)) {
        close(end, known);
        partStart = end;
        partKey = key;
        continue;
      }
      lines.lastIndex = partStart;
    }
    let cut = false;
    for (let match = lines.exec(text); match !== null; match = lines.exec(text)) {
      const start = match.index + 1;
      const line = match[1] as string;
      const key = boundaryKey(kind, text, line, start + line.length);
      if (cutsBefore(start, key)) {
        close(start);
        partStart = start;
        partKey = key;
        cut = true;
        break;
      }
    }
    if (!cut) {
      if (text.length > 0) close(text.length);
      break;
    }
  }
  return { index: parts.map((p) => `${p.name}\n`).join(""), parts, memo };
}

/**
 * The parts an index names, in order, from a reader of parts; undefined when the index names
 * something that is not a part name or a part is missing (a hand-edited or broken folder).
 */
export function orderedParts<T>(index: string, part: (name: string) => T | undefined): T[] | undefined {
  if (!index.endsWith("\n") && index !== "") return undefined;
  const names = index === "" ? [] : index.slice(0, -1).split("\n");
  const seen = new Set<string>();
  const parts: T[] = [];
  for (const name of names) {
    if (!partName.test(name) || name === partsIndex || seen.has(name)) return undefined;
    seen.add(name);
    const found = part(name);
    if (found === undefined) return undefined;
    parts.push(found);
  }
  return parts;
}
