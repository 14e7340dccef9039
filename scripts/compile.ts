// How mhc binaries are compiled with Bun (used by scripts/build.ts and the benchmark).
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export const root = resolve(import.meta.dirname, "..");
const bun = resolve(root, "node_modules/.bin/bun");

/**
 * Every mhc binary (and the benchmark's floor program, so the two are compared fairly) is built
 * with these. The autoload flags matter: mhc runs inside arbitrary folders and must never pick up
 * a stray .env or bunfig.toml there.
 */
const compileFlags = [
  "--compile",
  "--minify",
  "--sourcemap",
  "--bytecode",
  "--format=esm",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

export function compile(entry: string, outfile: string, target?: string): void {
  const args = [
    "build",
    entry,
    ...compileFlags,
    ...(target ? [`--target=bun-${target}`] : []),
    "--outfile",
    outfile,
  ];
  execFileSync(bun, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}
