// Builds the single binary (run with Bun):
//   bun scripts/build.ts          dist/mhc for this machine
//   bun scripts/build.ts --all    dist/release/mhc-<target> for every release target, with SHA256SUMS
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import process from "node:process";
import { compile, root } from "./compile.ts";

/** Where the binary went and how big it is: `dist/mhc  61.2 MB`. */
function built(file: string): void {
  const megabytes = (statSync(file).size / 1024 / 1024).toFixed(1);
  process.stdout.write(`${relative(process.cwd(), file) || file}  ${megabytes} MB\n`);
}

const releaseTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"];

if (process.argv.includes("--all")) {
  const out = resolve(root, "dist/release");
  mkdirSync(out, { recursive: true });
  const sums = releaseTargets.map((target) => {
    const file = `${out}/mhc-${target}`;
    compile("src/cli.ts", file, target);
    // The source map is embedded in the binary; the copy beside it is not a release artifact.
    rmSync(`${file}.map`, { force: true });
    built(file);
    return `${createHash("sha256").update(readFileSync(file)).digest("hex")}  mhc-${target}`;
  });
  writeFileSync(`${out}/SHA256SUMS`, `${sums.join("\n")}\n`);
} else {
  const file = resolve(root, "dist/mhc");
  compile("src/cli.ts", file);
  built(file);
}
