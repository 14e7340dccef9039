import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { webWithHosts } from "../helpers/apps.ts";
import { runMhc, startMhc } from "../helpers/cli.ts";
import { bareRepo, git, message, tempDir } from "../helpers/git.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { startMarathon } from "../helpers/marathon.ts";
import { eventually } from "../helpers/wait.ts";

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

describe("--author is one person", () => {
  it.each(["Eve\nMallory <e@x>", "Eve <e@x>\n", "Eve\t<e@x>", "<e@x>"])(
    "%j is a usage error",
    async (author) => {
      const remote = bareRepo();
      const result = await runMhc(["sync", "--from", snapshotFile(), "--repo", remote, "--author", author], {
        env,
      });
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(
        `mhc: error: --author must look like "Name <email>" on one line, not ${JSON.stringify(author)}`,
      );
      expect(git(remote, "for-each-ref")).toBe("");
    },
  );
});

describe("--path is a file inside the repo", () => {
  it.each([
    ["a//b.cfg", "a/b.cfg"],
    ["./lb/haproxy.cfg", "lb/haproxy.cfg"],
    ["/lb/./haproxy.cfg", "lb/haproxy.cfg"],
  ])("%j is written as %j", async (given, stored) => {
    const remote = bareRepo();
    const result = await runMhc(["sync", "--from", snapshotFile(), "--repo", remote, "--path", given], {
      env,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(git(remote, "ls-tree", "-r", "--name-only", "main").split("\n").filter(Boolean)).toEqual([
      stored,
      `${stored}.mhc.json`,
    ]);
  });

  it.each(["haproxy/", "lb/..", ".git/x.cfg", "a/../../x.cfg", ".", "lb/ha\nproxy.cfg"])(
    "%j is a usage error before anything is rendered",
    async (given) => {
      const remote = bareRepo();
      const result = await runMhc(["sync", "--from", snapshotFile(), "--repo", remote, "--path", given], {
        env,
      });
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(
        `mhc: error: --path must be a file path inside the repo (not in .git), not ${JSON.stringify(given)}`,
      );
      expect(git(remote, "for-each-ref")).toBe("");
    },
  );
});

describe.skipIf(!haproxyAvailable())("a sync killed during haproxy -c", () => {
  it("leaves its validation folder behind, and the next sync removes it", async () => {
    const tmp = tempDir("mhc-tmpdir-");
    const bin = tempDir("mhc-bin-");
    const slowHaproxy = join(bin, "haproxy");
    const checkPid = join(bin, "check.pid");
    // The real HAProxy, a few seconds late for -c: time to kill mhc while the check runs.
    writeFileSync(
      slowHaproxy,
      `#!/bin/sh\nif [ "$1" = "-c" ]; then echo $$ > ${checkPid}; sleep 5; fi\nexec haproxy "$@"\n`,
    );
    chmodSync(slowHaproxy, 0o755);
    const remote = bareRepo();
    const validating = () => readdirSync(tmp).filter((name) => name.startsWith("mhc-validate-"));
    const args = ["sync", "--from", snapshotFile(), "--repo", remote, "--validate", "always"];
    const killed = startMhc([...args, "--haproxy", slowHaproxy], { env: { ...env, TMPDIR: tmp } });
    try {
      await eventually(
        () => validating().length === 1 && existsSync(checkPid) && readFileSync(checkPid, "utf8").trim(),
        "haproxy -c to start",
      );
      killed.kill("SIGKILL");
      await killed.exited;
    } finally {
      // The check itself outlives mhc (a SIGKILLed process cannot take its children with it).
      const check = existsSync(checkPid) ? Number(readFileSync(checkPid, "utf8")) : 0;
      if (check > 0) process.kill(check, "SIGKILL");
    }
    expect(validating()).toHaveLength(1);

    const next = await runMhc(args, { env: { ...env, TMPDIR: tmp } });
    expect(next.code, next.stderr).toBe(0);
    expect(validating()).toEqual([]);
  });
});

describe("sync --dry-run never prints a password", () => {
  it("a rotated AUTH password shows as a (hidden) -/+ pair, as in mhc diff", async () => {
    const remote = bareRepo();
    const guarded = (password: string) => {
      const file = join(tempDir("mhc-snap-"), "apps.json");
      const app = {
        ...webWithHosts(1).apps[0],
        labels: { HAPROXY_0_MODE: "http", HAPROXY_0_AUTH: `S:alice:${password}` },
      };
      writeFileSync(file, JSON.stringify({ apps: [app] }));
      return file;
    };
    expect((await runMhc(["sync", "--from", guarded("pl41n-s3cret"), "--repo", remote], { env })).code).toBe(
      0,
    );
    const preview = await runMhc(["sync", "--from", guarded("n3w-s3cret"), "--repo", remote, "--dry-run"], {
      env,
    });
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain(
      "-  user alice insecure-password (hidden)\n+  user alice insecure-password (hidden)\n",
    );
    expect(`${preview.stdout}${preview.stderr}`).not.toMatch(/pl41n-s3cret|n3w-s3cret/);
  });
});

describe.skipIf(!haproxyAvailable())("sync's validation folder", () => {
  it("is private (mode 0700) under $TMPDIR/mhc-validate-<pid>-…, and gone after the sync", async () => {
    const tmp = tempDir("mhc-tmpdir-");
    const bin = tempDir("mhc-bin-");
    const record = join(bin, "seen.txt");
    // The real HAProxy; first it notes where the candidate is and that folder's mode.
    const noting = join(bin, "haproxy");
    writeFileSync(
      noting,
      `#!/bin/sh\nfor a; do [ "$prev" = "-f" ] && printf '%s %s\\n' "$(dirname "$a")" "$(stat -c %a "$(dirname "$a")")" >> ${record}; prev=$a; done\nexec haproxy "$@"\n`,
    );
    chmodSync(noting, 0o755);
    const args = ["sync", "--from", snapshotFile(), "--repo", bareRepo(), "--validate", "always"];
    const result = await runMhc([...args, "--haproxy", noting], { env: { ...env, TMPDIR: tmp } });
    expect(result.code, result.stderr).toBe(0);
    const seen = readFileSync(record, "utf8").trim().split("\n");
    expect(seen.length).toBeGreaterThan(0);
    for (const line of seen) expect(line).toMatch(new RegExp(`^${tmp}/mhc-validate-\\d+-\\S+ 700$`));
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe("the Snapshot-Digest trailer", () => {
  it("of a sync from Marathon is the sha256 of the exact bytes Marathon answered", async () => {
    // Spacing and characters of several bytes, which a text re-encoded from the parsed JSON would lose.
    const apps = webWithHosts(2) as { apps: { labels?: Record<string, string> }[] };
    for (const app of apps.apps) app.labels = { owner: "Zoë 日本" };
    const body = Buffer.from(` ${JSON.stringify(apps, null, 1)}\n`);
    const marathon = await startMarathon(() => ({ body }));
    try {
      const remote = bareRepo();
      const result = await runMhc(["sync", marathon.url, "--repo", remote, "--validate", "never"], { env });
      expect(result.code, result.stderr).toBe(0);
      const digest = createHash("sha256").update(body).digest("hex");
      expect(message(remote)).toContain(`\nSnapshot-Digest: sha256:${digest}\n`);
    } finally {
      await marathon.close();
    }
  });
});
