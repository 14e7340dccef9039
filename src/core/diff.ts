import { diffArrays } from "diff";

/**
 * Unified diff that stays fast when most lines change. Plain Myers diff (jsdiff) is O(N·D) and
 * takes over a minute when half of a 27,000-line config changes; patience-style anchoring on lines
 * that are unique in both files (most lines of a rendered config are) splits the work into small
 * gaps, and each gap gets a bounded jsdiff.
 */

type Op = " " | "-" | "+";
interface Line {
  op: Op;
  text: string;
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

function replaceAll(out: Line[], a: string[], b: string[]): void {
  for (const text of a) out.push({ op: "-", text });
  for (const text of b) out.push({ op: "+", text });
}

function myersGap(out: Line[], a: string[], b: string[]): void {
  const changes = diffArrays(a, b, { maxEditLength: gapEditLimit });
  if (!changes) {
    replaceAll(out, a, b);
    return;
  }
  for (const change of changes) {
    const op: Op = change.added ? "+" : change.removed ? "-" : " ";
    for (const text of change.value) out.push({ op, text });
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

function diffRange(out: Line[], a: string[], b: string[], depth: number): void {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start])
    out.push({ op: " ", text: a[start++] as string });
  let endA = a.length;
  let endB = b.length;
  const suffix: Line[] = [];
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    suffix.push({ op: " ", text: a[--endA] as string });
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length === 0 || midB.length === 0 || depth > 64) {
    if (depth > 64) myersGap(out, midA, midB);
    else replaceAll(out, midA, midB);
  } else {
    const counts = new Map<string, { inA: number; inB: number; atA: number; atB: number }>();
    midA.forEach((text, i) => {
      const c = counts.get(text) ?? { inA: 0, inB: 0, atA: -1, atB: -1 };
      c.inA++;
      c.atA = i;
      counts.set(text, c);
    });
    midB.forEach((text, i) => {
      const c = counts.get(text);
      if (c) {
        c.inB++;
        c.atB = i;
      }
    });
    const pairs: [number, number][] = [];
    for (const c of counts.values()) if (c.inA === 1 && c.inB === 1) pairs.push([c.atA, c.atB]);
    pairs.sort((x, y) => x[0] - y[0]);
    const anchors = longestIncreasing(pairs.map((p) => p[1])).map((i) => pairs[i] as [number, number]);
    if (anchors.length === 0) {
      myersGap(out, midA, midB);
    } else {
      let fromA = 0;
      let fromB = 0;
      for (const [atA, atB] of anchors) {
        diffRange(out, midA.slice(fromA, atA), midB.slice(fromB, atB), depth + 1);
        out.push({ op: " ", text: midA[atA] as string });
        fromA = atA + 1;
        fromB = atB + 1;
      }
      diffRange(out, midA.slice(fromA), midB.slice(fromB), depth + 1);
    }
  }
  for (let i = suffix.length - 1; i >= 0; i--) out.push(suffix[i] as Line);
}

export function diffLines(oldText: string, newText: string): Line[] {
  const out: Line[] = [];
  diffRange(out, splitLines(oldText), splitLines(newText), 0);
  return out;
}

/** Unified diff (`--- a/NAME` / `+++ b/NAME`, 3 lines of context); "" when the texts are equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName: string,
  newName = oldName,
  context = 3,
): string {
  if (oldText === newText) return "";
  const lines = diffLines(oldText, newText);
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let i = 0;
  // Line numbers (1-based) in old and new before lines[i].
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 1;
  let n = 1;
  for (const line of lines) {
    oldAt.push(o);
    newAt.push(n);
    if (line.op !== "+") o++;
    if (line.op !== "-") n++;
  }
  while (i < lines.length) {
    while (i < lines.length && (lines[i] as Line).op === " ") i++;
    if (i >= lines.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2×context unchanged lines.
    for (;;) {
      while (end < lines.length && (lines[end] as Line).op !== " ") end++;
      let next = end;
      while (next < lines.length && (lines[next] as Line).op === " ") next++;
      if (next < lines.length && next - end <= 2 * context) end = next;
      else {
        end = Math.min(lines.length, end + context);
        break;
      }
    }
    const hunk = lines.slice(start, end);
    const oldCount = hunk.filter((l) => l.op !== "+").length;
    const newCount = hunk.filter((l) => l.op !== "-").length;
    const oldStart = oldCount === 0 ? (oldAt[start] as number) - 1 : (oldAt[start] as number);
    const newStart = newCount === 0 ? (newAt[start] as number) - 1 : (newAt[start] as number);
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const line of hunk) {
      if (line.text.endsWith(noEol))
        out.push(`${line.op}${line.text.slice(0, -noEol.length)}`, "\\ No newline at end of file");
      else out.push(`${line.op}${line.text}`);
    }
    i = end;
  }
  return `${out.join("\n")}\n`;
}
