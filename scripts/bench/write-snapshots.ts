/**
 * Writes the benchmark snapshots for one size, in its own process so that the benchmark runner
 * never holds (or garbage-collects) a large heap while it times other processes:
 *
 *   bun scripts/bench/write-snapshots.ts APPS TASKS_PER_APP SEED DIR
 *
 * DIR/snapshot-APPS.json, and the same with half of all serving tasks moved (-half-moved) and with
 * one moved (-one-moved). Prints the byte size of each file as JSON.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { generateSnapshot, moveTasks } from "./generate.ts";

const [apps, tasksPerApp, seed] = process.argv.slice(2, 5).map(Number);
const dir = process.argv[5];
if (!apps || !tasksPerApp || seed === undefined || !Number.isInteger(seed) || !dir) {
  process.stderr.write("usage: write-snapshots.ts APPS TASKS_PER_APP SEED DIR\n");
  process.exit(2);
}
const snapshot = generateSnapshot({ apps, tasksPerApp, seed });
const variants = {
  base: snapshot,
  halfMoved: moveTasks(snapshot, { every: 2, seed }),
  oneMoved: moveTasks(snapshot, { every: 1, limit: 1, seed }),
};
const suffix = { base: "", halfMoved: "-half-moved", oneMoved: "-one-moved" };
const sizes: Record<string, { file: string; bytes: number }> = {};
for (const [name, value] of Object.entries(variants)) {
  const file = join(dir, `snapshot-${apps}${suffix[name as keyof typeof suffix]}.json`);
  const text = JSON.stringify(value);
  writeFileSync(file, text);
  sizes[name] = { file, bytes: Buffer.byteLength(text) };
}
process.stdout.write(`${JSON.stringify(sizes)}\n`);
