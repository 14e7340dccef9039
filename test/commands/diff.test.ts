import { writeFileSync } from "node:fs";
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
