import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { configSection, unifiedDiff } from "../../src/core/diff.ts";

/** Small deterministic PRNG so failures are reproducible. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function config(backends: number, servers: number, shift = 0): string {
  const lines: string[] = ["global", "  maxconn 100", ""];
  for (let b = 0; b < backends; b++) {
    lines.push(`backend app${b}_10${b}`, "  mode tcp", "  balance roundrobin");
    for (let s = 0; s < servers; s++)
      lines.push(`  server 10.0.${b % 250}.${s + shift}_31${s} 10.0.${b % 250}.${s + shift}:31${s} check`);
    lines.push("");
  }
  return lines.join("\n");
}

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", "x")).toBe("");
  });

  it("produces a standard unified diff", () => {
    const patch = unifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n", "a/cfg", "b/cfg");
    expect(patch).toBe("--- a/cfg\n+++ b/cfg\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n");
  });

  it("names the section each hunk is in, as git names functions", () => {
    const old = config(3, 5);
    const fresh = old.replace("10.0.1.2:312 check", "10.0.1.2:312 check inter 5s");
    const patch = unifiedDiff(old, fresh, "a/cfg\t(published)", "b/cfg\t(Marathon at m)", 3, configSection);
    expect(patch.split("\n").slice(0, 3)).toEqual([
      "--- a/cfg\t(published)",
      "+++ b/cfg\t(Marathon at m)",
      "@@ -15,7 +15,7 @@ backend app1_101",
    ]);
    expect(applyPatch(old, patch)).toBe(fresh);
    // A hunk starting before any section names none.
    expect(unifiedDiff("a\n", "b\n", "f", "f", 3, configSection).split("\n")[2]).toBe("@@ -1,1 +1,1 @@");
  });

  it("handles empty files and missing final newlines like diff(1)", () => {
    expect(unifiedDiff("", "x\n", "f")).toBe("--- f\n+++ f\n@@ -0,0 +1,1 @@\n+x\n");
    expect(unifiedDiff("x", "x\n", "f")).toBe(
      "--- f\n+++ f\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+x\n",
    );
    expect(applyPatch("x", unifiedDiff("x", "y\nz", "f"))).toBe("y\nz");
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("round-trips random edits (seed %i)", (seed) => {
    const random = rng(seed);
    const old = config(40, 5);
    const lines = old.split("\n");
    for (let i = 0; i < 30; i++) {
      const at = Math.floor(random() * lines.length);
      const kind = random();
      if (kind < 0.33) lines.splice(at, 1);
      else if (kind < 0.66) lines.splice(at, 0, `  server new${i} 10.9.9.${i}:1 check`);
      else lines[at] = `${lines[at]} changed`;
    }
    const fresh = lines.join("\n");
    const patch = unifiedDiff(old, fresh, "a/cfg", "b/cfg");
    expect(applyPatch(old, patch)).toBe(fresh);
  });

  it("stays correct when half of all server lines change (jsdiff's slow case)", () => {
    const old = config(3000, 5);
    const fresh = config(3000, 5, 100);
    const patch = unifiedDiff(old, fresh, "a/cfg", "b/cfg");
    expect(applyPatch(old, patch)).toBe(fresh);
    expect(patch.split("\n").filter((l) => l.startsWith("-  server")).length).toBe(15_000);
  });
});
