import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webWithHosts } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, git, tempDir } from "../helpers/git.ts";

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };

function snapshotFile(): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(webWithHosts(2)));
  return file;
}

describe("mhc sync checks its flags before it renders or touches git", () => {
  it.each([
    ["--review-branch", "main.lock", 'it has a path component ending with ".lock"'],
    ["--review-branch", "a..b", 'it contains ".."'],
    ["--review-branch", "with space", "it contains a space"],
    ["--branch", "-x", "it starts with -"],
    ["--branch", "team/", "it has an empty path component (a leading, trailing or double /)"],
  ])(
    "an invalid branch name (%s %j) is a one-line usage error, exit 2, nothing pushed",
    async (flag, name, why) => {
      const remote = bareRepo();
      const result = await runMhc(["sync", "--from", snapshotFile(), "--repo", remote, `${flag}=${name}`], {
        env,
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.split("\n")[0]).toBe(
        `mhc: error: ${flag} "${name}" is not a valid git branch name: ${why}`,
      );
      expect(git(remote, "for-each-ref")).toBe("");
    },
  );
});
