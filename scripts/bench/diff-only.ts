/**
 * The diff alone, without rendering: `bun scripts/bench/diff-only.ts OLD NEW RUNS` times mhc's
 * unifiedDiff between two config files in this process and prints each run's milliseconds as JSON
 * (after one warm-up run).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { unifiedDiff } from "../../src/core/diff.ts";

const [oldFile, newFile, runsText] = process.argv.slice(2);
const runs = Number(runsText);
if (!oldFile || !newFile || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write("usage: diff-only.ts OLD NEW RUNS\n");
  process.exit(2);
}
const [before, after] = [readFileSync(oldFile, "utf8"), readFileSync(newFile, "utf8")];
const runsMs: number[] = [];
for (let i = 0; i <= runs; i++) {
  const started = performance.now();
  const patch = unifiedDiff(before, after, `a/${oldFile}`, `b/${oldFile}`);
  if (i > 0) runsMs.push(performance.now() - started);
  if (patch === "") throw new Error("the configs are equal");
}
process.stdout.write(`${JSON.stringify({ runsMs })}\n`);
