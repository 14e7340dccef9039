// Cross-compiles the release binaries (run with Bun: `npm run build:all`).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const targets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"];
const out = "dist/release";
mkdirSync(out, { recursive: true });
const sums: string[] = [];
for (const target of targets) {
  const file = `${out}/mhc-${target}`;
  execFileSync(
    "node_modules/.bin/bun",
    [
      "build",
      "src/cli.ts",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      `--target=bun-${target}`,
      "--outfile",
      file,
    ],
    { stdio: "inherit" },
  );
  sums.push(`${createHash("sha256").update(readFileSync(file)).digest("hex")}  mhc-${target}`);
}
writeFileSync(`${out}/SHA256SUMS`, `${sums.join("\n")}\n`);
