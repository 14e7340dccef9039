import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, fileAt, git, tempDir } from "../helpers/git.ts";

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };
const path = "haproxy/haproxy.cfg";

function snapshotFile(labels: Record<string, string>): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(
    file,
    JSON.stringify(
      snapshotOf(hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31000] })], { labels })),
    ),
  );
  return file;
}

const sync = (from: string, repo: string, ...extra: string[]) =>
  runMhc(["sync", "--from", from, "--repo", repo, ...extra], { env });

describe("AUTH passwords through sync", () => {
  it("never appear in commit messages, logs, --dry-run diffs or --json; the config itself has them", async () => {
    const remote = bareRepo();
    const first = await sync(snapshotFile({ HAPROXY_0_MODE: "http" }), remote);
    expect(first.code).toBe(0);
    const guarded = snapshotFile({ HAPROXY_0_MODE: "http", HAPROXY_0_AUTH: "Staff:alice:pl41n-s3cret" });
    const outputs = [
      await sync(guarded, remote, "--dry-run"),
      await sync(guarded, remote, "--dry-run", "--json"),
      await sync(guarded, remote, "--json", "--verbose"),
    ];
    for (const result of outputs) {
      expect(result.code).toBe(0);
      expect(`${result.stdout}${result.stderr}`).not.toContain("pl41n-s3cret");
    }
    expect(outputs[0]?.stdout).toContain("+  user alice insecure-password (hidden)");
    expect(outputs[2]?.stderr).toContain("HAPROXY_0_AUTH has a plaintext password");
    const log = git(remote, "log", "--format=%B", "main");
    expect(log).toContain('auth none → user alice realm "Staff"');
    expect(log).not.toContain("pl41n-s3cret");
    expect(fileAt(remote, "main", path)).toContain("user alice insecure-password pl41n-s3cret");

    const rotated = await sync(
      snapshotFile({ HAPROXY_0_MODE: "http", HAPROXY_0_AUTH: "Staff:alice:n3w-s3cret" }),
      remote,
    );
    expect(rotated.code).toBe(0);
    const message = git(remote, "log", "-1", "--format=%B", "main");
    expect(message).toContain("auth password of user alice changed");
    expect(message).not.toContain("config text changed");
    expect(message).not.toMatch(/pl41n-s3cret|n3w-s3cret/);
  });
});
