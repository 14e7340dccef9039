import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering rules of src/ (README "Architecture"), read from the import statements themselves:
 * a back-edge fails here, not in review.
 */

const srcDir = join(import.meta.dirname, "..", "src");

/** One import: the importing file and what it names, both relative to src/ when inside it. */
interface Edge {
  from: string;
  to: string;
  /** As written, when it differs from `to` (relative imports). */
  specifier?: string;
}

const importPattern =
  /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

function importsOf(file: string, text: string): Edge[] {
  const edges: Edge[] = [];
  for (const match of text.matchAll(importPattern)) {
    const specifier = (match[1] ?? match[2]) as string;
    const to = specifier.startsWith(".") ? normalize(join(dirname(file), specifier)) : specifier;
    edges.push(to === specifier ? { from: file, to } : { from: file, to, specifier });
  }
  return edges;
}

function srcImports(): Edge[] {
  return sourceFiles(srcDir).flatMap((path) => importsOf(relative(srcDir, path), readFileSync(path, "utf8")));
}

/** The layer a file belongs to: its top folder under src/, or the file itself (cli.ts, errors.ts, …). */
const layerOf = (file: string) => file.split("/")[0] as string;
const isLocal = (to: string) => to.endsWith(".ts") && !to.startsWith("..");

/** Packages and builtins core/ may use: pure ones only (no I/O). */
const pureForCore = new Set(["diff", "node:net"]);

/** Every rule broken by `edges`, one line each (empty when the layering holds). */
function violations(edges: Edge[]): string[] {
  const found: string[] = [];
  for (const { from, to, specifier } of edges) {
    const fromCore = layerOf(from) === "core";
    if (fromCore && !(isLocal(to) && (layerOf(to) === "core" || to === "errors.ts")) && !pureForCore.has(to))
      found.push(`${from} imports ${to}: core/ imports only core/, errors.ts and pure packages`);
    if (isLocal(to) && layerOf(to) === "commands" && from !== "cli.ts" && layerOf(from) !== "commands")
      found.push(`${from} imports ${to}: only cli.ts imports commands/`);
    if (/^\.\.?\//.test(specifier ?? "") && !/\.(ts|json)$/.test(specifier ?? ""))
      found.push(`${from} imports ${to}: relative imports name the file with its .ts extension`);
    if (!to.startsWith("node:") && builtinModules.includes(to))
      found.push(`${from} imports ${to}: builtins are imported as node:${to}`);
  }
  found.push(...layerCycles(edges));
  return found;
}

/** Cycles between layers, each reported once as "a → b → a (via file → file, …)". */
function layerCycles(edges: Edge[]): string[] {
  const via = new Map<string, Map<string, string>>();
  for (const { from, to } of edges) {
    if (!isLocal(to) || layerOf(from) === layerOf(to)) continue;
    const targets = via.get(layerOf(from)) ?? new Map<string, string>();
    if (!targets.has(layerOf(to))) targets.set(layerOf(to), `${from} → ${to}`);
    via.set(layerOf(from), targets);
  }
  const cycles = new Set<string>();
  const walk = (layer: string, path: string[]) => {
    const start = path.indexOf(layer);
    if (start >= 0) {
      const cycle = path.slice(start);
      // Rotate so the same cycle found from another layer is reported once.
      const first = cycle.indexOf([...cycle].sort()[0] as string);
      const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
      const hops = rotated.map((l, i) => via.get(l)?.get(rotated[(i + 1) % rotated.length] as string));
      cycles.add(`cycle ${[...rotated, rotated[0]].join(" → ")} (via ${hops.join(", ")})`);
      return;
    }
    for (const next of via.get(layer)?.keys() ?? []) walk(next, [...path, layer]);
  };
  for (const layer of via.keys()) walk(layer, []);
  return [...cycles];
}

describe("architecture", () => {
  it("src/ has no back-edge: core/ is pure, only cli.ts imports commands/, no cycle between folders", () => {
    const edges = srcImports();
    expect(edges.length).toBeGreaterThan(50);
    expect(violations(edges)).toEqual([]);
  });

  it("the checker catches each kind of back-edge", () => {
    expect(violations([{ from: "core/render.ts", to: "io/files.ts" }])).toEqual([
      "core/render.ts imports io/files.ts: core/ imports only core/, errors.ts and pure packages",
    ]);
    expect(violations([{ from: "core/render.ts", to: "node:fs" }])).toHaveLength(1);
    expect(violations([{ from: "core/diff.ts", to: "diff" }])).toEqual([]);
    expect(violations([{ from: "watch/args.ts", to: "commands/_shared.ts" }])[0]).toContain(
      "only cli.ts imports commands/",
    );
    expect(
      violations([
        { from: "marathon/events.ts", to: "watch/duration.ts" },
        { from: "watch/watcher.ts", to: "marathon/events.ts" },
      ]),
    ).toEqual([
      "cycle marathon → watch → marathon (via marathon/events.ts → watch/duration.ts, watch/watcher.ts → marathon/events.ts)",
    ]);
    expect(violations([{ from: "io/files.ts", to: "fs" }])[0]).toContain("node:fs");
    expect(violations([{ from: "io/a.ts", to: "io/b", specifier: "./b" }])[0]).toContain(".ts extension");
  });
});

describe("dependencies", () => {
  it("at run time mhc needs only citty and diff: the only packages src/ imports, and package.json's dependencies", () => {
    const root = join(import.meta.dirname, "..");
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
      );
    const packages = new Set(
      files(join(root, "src")).flatMap((file) =>
        [...readFileSync(file, "utf8").matchAll(/^(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)]
          .map((m) => m[1] as string)
          .filter((spec) => !spec.startsWith(".") && !spec.startsWith("node:")),
      ),
    );
    expect([...packages].sort()).toEqual(["citty", "diff"]);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["citty", "diff"]);
  });
});
