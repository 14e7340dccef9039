import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../src/errors.ts";
import { repoRoot } from "./helpers/cli.ts";

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );

describe("exit codes", () => {
  it("no other code is used: the README's table is ExitCode, and src/ sets no code outside it", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const section = readme.slice(
      readme.indexOf("\n## Exit codes\n"),
      readme.indexOf("No other code is used."),
    );
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(ExitCode));

    // Codes come from ExitCode by name; a bare number given to exit() would be a code nobody documented.
    const literal = /process\.exit(?:Code\s*=\s*|\()\s*([1-9]\d*)/g;
    const bare = sourceFiles(join(repoRoot, "src")).flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(literal)].map((m) => `${file}: ${m[0]}`),
    );
    expect(bare).toEqual([]);
  });
});
