/**
 * The floor mhc is measured against: read a Marathon snapshot (a file, or an http:// URL as mhc
 * fetches it) and JSON.parse it, nothing else. Compiled with the same runtime and flags as
 * dist/mhc, so the two process wall times compare like for like. Prints the in-process
 * read and parse times (ms) as JSON, for reference.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import process from "node:process";

const source = process.argv[2];
if (!source) {
  process.stderr.write("usage: floor FILE|URL\n");
  process.exit(2);
}
const started = performance.now();
const text = /^https?:\/\//.test(source)
  ? await (await fetch(source)).text()
  : await readFile(source, "utf8");
const read = performance.now();
const snapshot = JSON.parse(text) as { apps?: unknown[] };
const parsed = performance.now();
process.stdout.write(
  `${JSON.stringify({ apps: snapshot.apps?.length ?? 0, readMs: read - started, parseMs: parsed - read })}\n`,
);
