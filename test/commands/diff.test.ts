import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyPatch } from "diff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { tempDir } from "../helpers/git.ts";
import { json, type MarathonServer, startMarathon } from "../helpers/marathon.ts";

const apps = (webHosts: string[]) =>
  snapshotOf(
    hostApp("/api", [10001], [task({ host: "10.0.1.1", ports: [32000] })]),
    hostApp(
      "/web",
      [10000],
      webHosts.map((h) => task({ host: h, ports: [31000] })),
    ),
  );

let marathon: MarathonServer;
beforeAll(async () => {
  marathon = await startMarathon(() => json(apps(["10.0.0.1", "10.0.0.2"])));
});
afterAll(async () => {
  await marathon.close();
});

describe("mhc diff names its sides and its backends", () => {
  it("--- a/FILE (published) / +++ b/FILE (Marathon at URL), credentials masked; hunks name their backend", async () => {
    const dir = tempDir();
    const from = join(dir, "v1.json");
    writeFileSync(from, JSON.stringify(apps(["10.0.0.1"])));
    const current = (await runMhc(["render", "--from", from])).stdout;
    writeFileSync(join(dir, "haproxy.cfg"), current);
    const withPassword = marathon.url.replace("http://", "http://ops:S3cretPw@");
    const result = await runMhc(["diff", "haproxy.cfg", withPassword], { cwd: dir });
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "--- a/haproxy.cfg\t(published)",
      `+++ b/haproxy.cfg\t(Marathon at ${marathon.url})`,
    ]);
    expect(lines.filter((l) => l.startsWith("@@"))).toEqual([
      expect.stringMatching(/^@@ .* @@ backend web_10000$/),
    ]);
    expect(result.stdout).not.toContain("S3cretPw");
    // The side names follow a tab, so the patch still applies.
    const fresh = (await runMhc(["render", marathon.url])).stdout;
    expect(applyPatch(current, result.stdout)).toBe(fresh);
  });

  it("a --from snapshot is named as such", async () => {
    const dir = tempDir();
    const v1 = join(dir, "v1.json");
    const v2 = join(dir, "v2.json");
    writeFileSync(v1, JSON.stringify(apps(["10.0.0.1"])));
    writeFileSync(v2, JSON.stringify(apps(["10.0.0.3"])));
    writeFileSync(join(dir, "haproxy.cfg"), (await runMhc(["render", "--from", v1])).stdout);
    const result = await runMhc(["diff", "haproxy.cfg", "--from", "v2.json"], { cwd: dir });
    expect(result.stdout.split("\n")[1]).toBe("+++ b/haproxy.cfg\t(snapshot v2.json)");
  });
});

describe("mhc diff never prints a credential", () => {
  const guarded = (password: string | undefined) =>
    snapshotOf(
      hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31000] })], {
        labels: {
          HAPROXY_0_MODE: "http",
          ...(password ? { HAPROXY_0_AUTH: `Staff:alice:${password}` } : {}),
        },
      }),
    );

  it("userlist passwords are (hidden) on both sides; a changed password still shows as a changed line", async () => {
    const dir = tempDir();
    for (const [name, password] of [
      ["open", undefined],
      ["old", "pl41n-s3cret"],
      ["new", "n3w-s3cret"],
    ] as const)
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(guarded(password)));
    writeFileSync(
      join(dir, "open.cfg"),
      (await runMhc(["render", "--from", "open.json"], { cwd: dir })).stdout,
    );
    writeFileSync(
      join(dir, "old.cfg"),
      (await runMhc(["render", "--from", "old.json"], { cwd: dir })).stdout,
    );
    expect(readFileSync(join(dir, "old.cfg"), "utf8")).toContain("insecure-password pl41n-s3cret");

    const added = await runMhc(["diff", "open.cfg", "--from", "old.json"], { cwd: dir });
    expect(added.code).toBe(1);
    expect(added.stdout).toContain("+  user alice insecure-password (hidden)\n");
    const rotated = await runMhc(["diff", "old.cfg", "--from", "new.json"], { cwd: dir });
    expect(rotated.code).toBe(1);
    expect(rotated.stdout).toContain(
      "-  user alice insecure-password (hidden)\n+  user alice insecure-password (hidden)\n",
    );
    const removed = await runMhc(["diff", "old.cfg", "--from", "open.json"], { cwd: dir });
    expect(removed.code).toBe(1);
    expect(removed.stdout).toContain("-  user alice insecure-password (hidden)\n");
    for (const result of [added, rotated, removed])
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/pl41n-s3cret|n3w-s3cret/);
  });
});

describe("mhc diff's output is a patch", () => {
  it("patch -p1 and git apply apply it: the file becomes the fresh render", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "v1.json"), JSON.stringify(apps(["10.0.0.1", "10.0.0.2"])));
    writeFileSync(join(dir, "v2.json"), JSON.stringify(apps(["10.0.0.2", "10.0.0.3", "10.0.0.4"])));
    const current = (await runMhc(["render", "--from", "v1.json"], { cwd: dir })).stdout;
    const fresh = (await runMhc(["render", "--from", "v2.json"], { cwd: dir })).stdout;
    writeFileSync(join(dir, "haproxy.cfg"), current);
    const result = await runMhc(["diff", "haproxy.cfg", "--from", "v2.json"], { cwd: dir });
    expect(result.code).toBe(1);
    writeFileSync(join(dir, "change.patch"), result.stdout);

    execFileSync("patch", ["-p1", "--quiet", "-i", "change.patch"], { cwd: dir });
    expect(readFileSync(join(dir, "haproxy.cfg"), "utf8")).toBe(fresh);

    writeFileSync(join(dir, "haproxy.cfg"), current);
    execFileSync("git", ["apply", "change.patch"], { cwd: dir });
    expect(readFileSync(join(dir, "haproxy.cfg"), "utf8")).toBe(fresh);
  });
});
