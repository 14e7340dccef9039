import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, commits, fileAt, git, message, tempDir } from "../helpers/git.ts";

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };
const path = "haproxy/haproxy.cfg";
const folder = `${path}.parts`;
const modelFolder = `${path}.mhc.json.parts`;

/** `apps` apps of three tasks; `moved` moves one task of that app to another port. */
function snapshotFile(apps: number, moved?: number): string {
  const list = Array.from({ length: apps }, (_, a) =>
    hostApp(
      `/shop/svc-${String(a).padStart(3, "0")}`,
      [10000 + a],
      [0, 1, 2].map((t) =>
        task({
          id: `svc-${a}.${t}`,
          host: `10.1.${a % 250}.${t + 1}`,
          ports: [a === moved && t === 0 ? 41000 : 31000 + t],
        }),
      ),
    ),
  );
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(snapshotOf(...list)));
  return file;
}

const sync = (from: string, repo: string, ...extra: string[]) =>
  runMhc(["sync", "--from", from, "--repo", repo, "--validate", "never", ...extra], { env });

/** The file a parts folder holds at `ref`, joined in its index's order. */
function joined(repo: string, ref: string, parts: string): string | undefined {
  const index = fileAt(repo, ref, `${parts}/index`);
  if (index === undefined) return undefined;
  return index
    .split("\n")
    .filter(Boolean)
    .map((name) => fileAt(repo, ref, `${parts}/${name}`))
    .join("");
}

const files = (repo: string, ref = "main") =>
  git(repo, "ls-tree", "-r", "--name-only", ref).trim().split("\n").filter(Boolean);

const changedFiles = (repo: string) =>
  git(repo, "show", "--format=", "--name-only", "main").trim().split("\n").filter(Boolean);

describe("sync --layout parts", () => {
  it("commits the config and its model as folders of parts that join, in index order, into the config and model of --layout single", async () => {
    const snapshot = snapshotFile(300);
    const parts = bareRepo();
    const single = bareRepo();
    expect((await sync(snapshot, parts, "--layout", "parts")).code).toBe(0);
    expect((await sync(snapshot, single)).code).toBe(0);
    expect(files(parts).every((f) => f.startsWith(`${folder}/`) || f.startsWith(`${modelFolder}/`))).toBe(
      true,
    );
    expect(files(parts).length).toBeGreaterThan(10);
    expect(joined(parts, "main", folder)).toBe(fileAt(single, "main", path));
    expect(joined(parts, "main", modelFolder)).toBe(fileAt(single, "main", `${path}.mhc.json`));
    expect(message(parts)).toBe(message(single));
    // Part files of the config are whole sections, named after the first.
    const index = fileAt(parts, "main", `${folder}/index`)?.trim().split("\n") ?? [];
    for (const name of index.slice(1))
      expect(fileAt(parts, "main", `${folder}/${name}`)).toMatch(/^(frontend|backend|listen|userlist) /);
  });

  it("a one-server move commits only the part of the config and of the model it falls in", async () => {
    const remote = bareRepo();
    expect((await sync(snapshotFile(300), remote, "--layout", "parts")).code).toBe(0);
    const moved = await sync(snapshotFile(300, 150), remote, "--layout", "parts");
    expect(moved.code, moved.stderr).toBe(0);
    const changed = changedFiles(remote);
    expect(changed.filter((f) => f.startsWith(`${folder}/`))).toHaveLength(1);
    expect(changed.filter((f) => f.startsWith(`${modelFolder}/`))).toHaveLength(1);
    expect(message(remote).split("\n")[0]).toMatch(/1 server/);
    // Another sync of the same state commits nothing.
    expect((await sync(snapshotFile(300, 150), remote, "--layout", "parts")).stderr).toContain("no change");
    expect(commits(remote)).toHaveLength(2);
  });

  it("switching --layout commits once, even when the config is unchanged, and leaves no file of the other layout", async () => {
    const remote = bareRepo();
    const snapshot = snapshotFile(40);
    expect((await sync(snapshot, remote)).code).toBe(0);
    const config = fileAt(remote, "main", path);
    const toParts = await sync(snapshot, remote, "--layout", "parts");
    expect(toParts.code, toParts.stderr).toBe(0);
    expect(message(remote).split("\n")[0]).toBe("Store the config and its model as folders of parts");
    expect(files(remote).some((f) => f === path || f === `${path}.mhc.json`)).toBe(false);
    expect(joined(remote, "main", folder)).toBe(config);
    expect((await sync(snapshot, remote, "--layout", "parts")).stderr).toContain("no change");
    const back = await sync(snapshot, remote, "--layout", "single");
    expect(back.code, back.stderr).toBe(0);
    expect(message(remote).split("\n")[0]).toBe("Store the config and its model as one file each");
    expect(files(remote)).toEqual([path, `${path}.mhc.json`]);
    expect(fileAt(remote, "main", path)).toBe(config);
    expect(commits(remote)).toHaveLength(3);
  });

  it("a local working repo gets the parts written and the parts no longer in the index removed; git status stays clean", async () => {
    const repo = join(tempDir("mhc-local-"), "config");
    expect((await sync(snapshotFile(300), repo, "--init", "--layout", "parts")).code).toBe(0);
    const before = readdirSync(join(repo, folder)).sort();
    expect((await sync(snapshotFile(120), repo, "--layout", "parts", "--max-drop", "100")).code).toBe(0);
    const after = readdirSync(join(repo, folder)).sort();
    expect(after.length).toBeLessThan(before.length);
    const index = readFileSync(join(repo, folder, "index"), "utf8")
      .trim()
      .split("\n");
    expect(after).toEqual([...index, "index"].sort());
    expect(git(repo, "status", "--porcelain")).toBe("");
    expect(existsSync(join(repo, path))).toBe(false);
    // As the README says: in a checkout, `cat $(cat index)` prints the config.
    const printed = execFileSync("sh", ["-c", "cat $(cat index)"], {
      cwd: join(repo, folder),
      encoding: "utf8",
    });
    expect(printed).toBe((await runMhc(["render", "--from", snapshotFile(120)])).stdout);
    // Back to one file: the parts folders go from disk too, not only from git.
    expect((await sync(snapshotFile(120), repo, "--layout", "single")).code).toBe(0);
    expect(existsSync(join(repo, folder))).toBe(false);
    expect(existsSync(join(repo, modelFolder))).toBe(false);
    expect(git(repo, "status", "--porcelain")).toBe("");
  });

  it("a broken model folder is read as an unreadable model file (the config is read back) and written again with the next change", async () => {
    const remote = bareRepo();
    expect((await sync(snapshotFile(60), remote, "--layout", "parts")).code).toBe(0);
    const clone = tempDir("mhc-clone-");
    git(clone, "clone", "--quiet", remote, ".");
    writeFileSync(join(clone, modelFolder, "index"), "missing.part\n");
    git(clone, "commit", "--quiet", "-am", "break the model");
    git(clone, "push", "--quiet", "origin", "HEAD:main");
    const same = await sync(snapshotFile(60), remote, "--layout", "parts");
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toContain(
      `an unreadable ${path}.mhc.json in the repo; reading the published config itself`,
    );
    expect(same.stderr).toContain("no change");
    const changed = await sync(snapshotFile(60, 30), remote, "--layout", "parts");
    expect(changed.code, changed.stderr).toBe(0);
    expect(JSON.parse(joined(remote, "main", modelFolder) ?? "").schema).toBe(1);
  });

  it("--path naming a folder of the repo is refused with exit 9 in either layout; the folder and its files stay", async () => {
    for (const layout of ["single", "parts"]) {
      const repo = join(tempDir("mhc-local-"), "config");
      expect((await sync(snapshotFile(3), repo, "--init")).code).toBe(0);
      mkdirSync(join(repo, "docs"));
      writeFileSync(join(repo, "docs", "README.md"), "notes\n");
      git(repo, "add", "docs");
      git(repo, "commit", "--quiet", "-m", "docs");
      const before = commits(repo);
      const result = await sync(snapshotFile(3), repo, "--path", "docs", "--layout", layout);
      expect(result.code, result.stderr).toBe(9);
      expect(result.stderr).toContain("docs is a folder in the repo");
      expect(readFileSync(join(repo, "docs", "README.md"), "utf8")).toBe("notes\n");
      expect(commits(repo)).toEqual(before);
    }
  });

  it("a broken parts folder in the repo (an index naming a missing part) is written again by the next sync", async () => {
    const remote = bareRepo();
    const snapshot = snapshotFile(60);
    expect((await sync(snapshot, remote, "--layout", "parts")).code).toBe(0);
    const clone = tempDir("mhc-clone-");
    git(clone, "clone", "--quiet", remote, ".");
    writeFileSync(join(clone, folder, "index"), "missing.cfg\n");
    git(clone, "commit", "--quiet", "-am", "break it");
    git(clone, "push", "--quiet", "origin", "HEAD:main");
    const fixed = await sync(snapshot, remote, "--layout", "parts");
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain(`${folder} is broken at HEAD`);
    expect(joined(remote, "main", folder)).toBe((await runMhc(["render", "--from", snapshot])).stdout);
  });
});
