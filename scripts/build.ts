// Builds the single binary (run with Bun):
//   bun scripts/build.ts          dist/mhc for this machine
//   bun scripts/build.ts --all    dist/release/mhc-<target> for every release target, with SHA256SUMS
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { compile, root } from "./compile.ts";

const releaseTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"];

if (process.argv.includes("--all")) {
  const out = resolve(root, "dist/release");
  mkdirSync(out, { recursive: true });
  const sums = releaseTargets.map((target) => {
    const file = `${out}/mhc-${target}`;
    compile("src/cli.ts", file, target);
    // The source map is embedded in the binary; the copy beside it is not a release artifact.
    rmSync(`${file}.map`, { force: true });
    return `${createHash("sha256").update(readFileSync(file)).digest("hex")}  mhc-${target}`;
  });
  writeFileSync(`${out}/SHA256SUMS`, `${sums.join("\n")}\n`);
} else {
  compile("src/cli.ts", resolve(root, "dist/mhc"));
}
