import { diffArrays } from "diff";

/**
 * Unified diff that stays fast when most lines change. Plain Myers diff (jsdiff) is O(N·D) and
 * takes over a minute when half of a 27,000-line config changes; patience-style anchoring on lines
 * that are unique in both files (most lines of a rendered config are) splits the work into small
 * gaps, and each gap gets a bounded jsdiff.
 */

type Op = " " | "-" | "+";
/** The diff, one op and one text per line in two parallel lists: no object per line. */
interface Lines {
  ops: Op[];
  texts: string[];
}

function push(out: Lines, op: Op, text: string): void {
  out.ops.push(op);
  out.texts.push(text);
}

const gapEditLimit = 2_000;

/** Marks a last line that has no newline, so "x" and "x\n" differ as they do for diff(1). */
const noEol = "\u0000no-eol";

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  else lines[lines.length - 1] += noEol;
  return lines;
}

function replaceAll(out: Lines, a: string[], b: string[]): void {
  for (const text of a) push(out, "-", text);
  for (const text of b) push(out, "+", text);
}

function myersGap(out: Lines, a: string[], b: string[]): void {
  const changes = diffArrays(a, b, { maxEditLength: gapEditLimit });
  if (!changes) {
    replaceAll(out, a, b);
    return;
  }
  for (const change of changes) {
    const op: Op = change.added ? "+" : change.removed ? "-" : " ";
    for (const text of change.value) push(out, op, text);
  }
}

/** Longest increasing subsequence of `values`, as indices; O(n log n). */
function longestIncreasing(values: number[]): number[] {
  const tails: number[] = [];
  const previous = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((values[tails[mid] as number] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[i] = tails[lo - 1] as number;
    tails[lo] = i;
  }
  const result: number[] = [];
  for (let i = tails.length > 0 ? (tails[tails.length - 1] as number) : -1; i >= 0; i = previous[i] as number)
    result.push(i);
  return result.reverse();
}

/**
 * Both texts as line numbers into one table of distinct lines, and scratch counters indexed by
 * those numbers: the anchoring compares and counts integers, not strings in a Map.
 */
interface DiffInput {
  a: string[];
  b: string[];
  idsA: Int32Array;
  idsB: Int32Array;
  countA: Int32Array;
  countB: Int32Array;
  /** Where in `b` a line was last seen (meaningful when countB is 1). */
  atB: Int32Array;
}

function diffInput(a: string[], b: string[]): DiffInput {
  const table = new Map<string, number>();
  const idsOf = (lines: string[]) => {
    const ids = new Int32Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      let id = table.get(line);
      if (id === undefined) {
        id = table.size;
        table.set(line, id);
      }
      ids[i] = id;
    }
    return ids;
  };
  const idsA = idsOf(a);
  const idsB = idsOf(b);
  const distinct = table.size;
  return {
    a,
    b,
    idsA,
    idsB,
    countA: new Int32Array(distinct),
    countB: new Int32Array(distinct),
    atB: new Int32Array(distinct),
  };
}

/** Diffs a[fromA, toA) against b[fromB, toB). */
function diffRange(
  out: Lines,
  input: DiffInput,
  fromA: number,
  toA: number,
  fromB: number,
  toB: number,
  depth: number,
): void {
  const { a, b, idsA, idsB, countA, countB, atB } = input;
  let startA = fromA;
  let startB = fromB;
  while (startA < toA && startB < toB && idsA[startA] === idsB[startB]) {
    push(out, " ", a[startA++] as string);
    startB++;
  }
  let endA = toA;
  let endB = toB;
  while (endA > startA && endB > startB && idsA[endA - 1] === idsB[endB - 1]) {
    endA--;
    endB--;
  }
  if (startA === endA || startB === endB || depth > 64) {
    if (depth > 64) myersGap(out, a.slice(startA, endA), b.slice(startB, endB));
    else replaceAll(out, a.slice(startA, endA), b.slice(startB, endB));
  } else {
    // Anchors: lines that occur exactly once in this range of a and once in this range of b.
    for (let i = startA; i < endA; i++) {
      const id = idsA[i] as number;
      countA[id] = (countA[id] as number) + 1;
    }
    let shared = false;
    for (let j = startB; j < endB; j++) {
      const id = idsB[j] as number;
      if (countA[id] !== 0) {
        shared = true;
        countB[id] = (countB[id] as number) + 1;
        atB[id] = j;
      }
    }
    const anchorsA: number[] = [];
    const anchorsB: number[] = [];
    for (let i = startA; i < endA; i++) {
      const id = idsA[i] as number;
      if (countA[id] === 1 && countB[id] === 1) {
        anchorsA.push(i);
        anchorsB.push(atB[id] as number);
      }
    }
    for (let i = startA; i < endA; i++) {
      const id = idsA[i] as number;
      countA[id] = 0;
      countB[id] = 0;
    }
    const chain = longestIncreasing(anchorsB);
    if (!shared) {
      // Nothing in common (e.g. one server line replaced by another): Myers would give exactly
      // this, all removals then all additions, at the cost of a jsdiff call per moved server.
      replaceAll(out, a.slice(startA, endA), b.slice(startB, endB));
    } else if (chain.length === 0) {
      myersGap(out, a.slice(startA, endA), b.slice(startB, endB));
    } else {
      let nextA = startA;
      let nextB = startB;
      for (const k of chain) {
        const anchorA = anchorsA[k] as number;
        const anchorB = anchorsB[k] as number;
        diffRange(out, input, nextA, anchorA, nextB, anchorB, depth + 1);
        push(out, " ", a[anchorA] as string);
        nextA = anchorA + 1;
        nextB = anchorB + 1;
      }
      diffRange(out, input, nextA, endA, nextB, endB, depth + 1);
    }
  }
  for (let i = endA; i < toA; i++) push(out, " ", a[i] as string);
}

function diffLines(oldText: string, newText: string): Lines {
  const out: Lines = { ops: [], texts: [] };
  const a = splitLines(oldText);
  const b = splitLines(newText);
  diffRange(out, diffInput(a, b), 0, a.length, 0, b.length, 0);
  return out;
}

/** A section header of an HAProxy config (`backend web_10000`): any line that is not indented. */
export const configSection = (line: string) => /^[A-Za-z]/.test(line);

/** The nearest section header above `lines[start]` (old side), as git names a hunk's function. */
function sectionAbove(lines: Lines, start: number, isHeader: (line: string) => boolean): string {
  for (let k = start - 1; k >= 0; k--) {
    const text = lines.texts[k] as string;
    if (lines.ops[k] !== "+" && isHeader(text)) return ` ${text.replace(noEol, "").slice(0, 80)}`;
  }
  return "";
}

/**
 * Unified diff (`--- a/NAME` / `+++ b/NAME`, 3 lines of context); "" when the texts are equal.
 * With `sectionHeader`, each hunk header names the section it is in (`@@ … @@ backend web_10000`).
 */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName: string,
  newName = oldName,
  context = 3,
  sectionHeader?: (line: string) => boolean,
): string {
  if (oldText === newText) return "";
  const lines = diffLines(oldText, newText);
  const { ops, texts } = lines;
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  // Line numbers (1-based) in old and new at ops[cursor]; hunks only move forward.
  let cursor = 0;
  let oldLine = 1;
  let newLine = 1;
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i] === " ") i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2×context unchanged lines.
    for (;;) {
      while (end < ops.length && ops[end] !== " ") end++;
      let next = end;
      while (next < ops.length && ops[next] === " ") next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else {
        end = Math.min(ops.length, end + context);
        break;
      }
    }
    for (; cursor < start; cursor++) {
      const op = ops[cursor];
      if (op !== "+") oldLine++;
      if (op !== "-") newLine++;
    }
    let oldCount = 0;
    let newCount = 0;
    for (let k = start; k < end; k++) {
      const op = ops[k];
      if (op !== "+") oldCount++;
      if (op !== "-") newCount++;
    }
    const oldStart = oldCount === 0 ? oldLine - 1 : oldLine;
    const newStart = newCount === 0 ? newLine - 1 : newLine;
    const section = sectionHeader ? sectionAbove(lines, start, sectionHeader) : "";
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@${section}`);
    for (let k = start; k < end; k++) {
      const text = texts[k] as string;
      if (text.endsWith(noEol))
        out.push(`${ops[k]}${text.slice(0, -noEol.length)}`, "\\ No newline at end of file");
      else out.push(`${ops[k]}${text}`);
    }
    i = end;
  }
  return `${out.join("\n")}\n`;
}
