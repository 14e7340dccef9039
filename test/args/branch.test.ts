import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { branchFlag, branchNameProblem } from "../../src/args/branch.ts";
import { ExitCode, MhcError } from "../../src/errors.ts";

const names = [
  "main",
  "mhc-review",
  "team/a-b_c.1",
  "release/2026.11",
  "ünïcode",
  "a.b",
  "x@y",
  "main.lock",
  "team/x.lock/y",
  "a..b",
  "with space",
  "tab\there",
  "-x",
  "/lead",
  "trail/",
  "a//b",
  "dot.",
  ".hidden",
  "team/.hidden",
  "a@{1}",
  "@",
  "HEAD",
  "a~1",
  "a^",
  "a:b",
  "a?",
  "a*",
  "a[b",
  "a\\b",
  "del\u007f",
  "",
];

/** What git itself says: `git check-ref-format --branch NAME` exits 0 for a valid branch name. */
const gitAccepts = (name: string) =>
  spawnSync("git", ["check-ref-format", "--branch", name], { encoding: "utf8" }).status === 0;

describe("branch names are checked as git checks them", () => {
  it.each(names)("%j: mhc and git check-ref-format --branch agree", (name) => {
    // `git branch HEAD` is refused and "@" is git's own name for HEAD: mhc refuses both as branches.
    const expected = name === "HEAD" || name === "@" ? false : gitAccepts(name);
    expect(branchNameProblem(name) === undefined).toBe(expected);
  });

  it("an invalid name is a one-line usage error naming the flag and the rule", () => {
    let caught: unknown;
    try {
      branchFlag("main.lock", "review-branch");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MhcError);
    expect((caught as MhcError).exitCode).toBe(ExitCode.usage);
    expect((caught as MhcError).message).toBe(
      '--review-branch "main.lock" is not a valid git branch name: it has a path component ending with ".lock"',
    );
    expect(branchFlag("team/review", "branch")).toBe("team/review");
  });
});
