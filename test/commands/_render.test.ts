import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webWithHosts } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, git, tempDir } from "../helpers/git.ts";

const dir = tempDir("mhc-from-");
const snapshot = join(dir, "apps.json");
writeFileSync(snapshot, JSON.stringify(webWithHosts(2)));
writeFileSync(join(dir, "haproxy.cfg"), "");
const env = { XDG_CACHE_HOME: tempDir("mhc-cache-"), MARATHON_URL: undefined };

const commands = {
  render: (...extra: string[]) => ["render", "--from", snapshot, ...extra],
  diff: (...extra: string[]) => ["diff", join(dir, "haproxy.cfg"), "--from", snapshot, ...extra],
  sync: (...extra: string[]) => ["sync", "--from", snapshot, "--repo", bareRepo(), "--dry-run", ...extra],
};

describe("--from FILE reads a saved snapshot, never silently ignoring a Marathon flag", () => {
  it.each([
    ["render", ["--marathon", "http://127.0.0.1:9"], "marathon"],
    ["render", ["--timeout=5"], "timeout"],
    ["render", ["--max-response", "1g"], "max-response"],
    ["diff", ["--auth", "ops:S3cretPw"], "auth"],
    ["diff", ["--retries", "0"], "retries"],
    ["sync", ["--ca-file", snapshot], "ca-file"],
    ["sync", ["--token", "S3cretPw"], "token"],
  ] as const)("%s --from with %j is a usage error naming both flags", async (command, extra, flag) => {
    const result = await runMhc(commands[command](...extra), { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")[0]).toBe(
      `mhc: error: --from and --${flag} do not go together: --from reads a saved snapshot, --${flag} is for reading Marathon`,
    );
    expect(result.stderr).not.toContain("S3cretPw");
  });

  it.each(["render", "diff", "sync"] as const)(
    "%s --from with a Marathon address is a usage error that does not repeat the address",
    async (command) => {
      const args = commands[command]();
      // The address goes where the command takes positionals (after diff's FILE).
      const result = await runMhc([...args, "http://ops:S3cretPw@127.0.0.1:9"], { env });
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(
        "mhc: error: --from and a Marathon address do not go together: --from reads a saved snapshot instead of Marathon",
      );
      expect(result.stderr).not.toContain("S3cretPw");
    },
  );

  it("MARATHON_URL, MARATHON_AUTH and MARATHON_TOKEN are defaults that --from overrides", async () => {
    const ambient = { ...env, MARATHON_URL: "127.0.0.1:9", MARATHON_AUTH: "ops:pw", MARATHON_TOKEN: "t0k" };
    const rendered = await runMhc(commands.render(), { env: ambient });
    expect(rendered.stderr).toBe("");
    expect(rendered.code).toBe(0);
    expect(rendered.stdout).toContain("backend web_10000");
    const remote = bareRepo();
    const synced = await runMhc(["sync", "--from", snapshot, "--repo", remote], { env: ambient });
    expect(synced.code, synced.stderr).toBe(0);
    expect(git(remote, "log", "--format=%s", "main")).toContain("haproxy");
  });
});
