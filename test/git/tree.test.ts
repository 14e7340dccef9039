import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeParts } from "../../scripts/bench/host.ts";
import { gitIn } from "../../src/git/git.ts";
import { readPublished } from "../../src/git/tree.ts";
import { git, tempDir } from "../helpers/git.ts";

const config = (serverOf: (i: number) => string) =>
  `global\n  daemon\n\n${Array.from(
    { length: 400 },
    (_, i) => `backend be_${i}\n  server s0 ${serverOf(i)}\n\n`,
  ).join("")}`;

/** A repo with two commits of `haproxy.cfg` in parts: A, then A with one server moved. */
function repoWithTwoCommits() {
  const repo = tempDir("mhc-tree-");
  git(repo, "init", "--quiet", "-b", "main");
  const commit = (text: string) => {
    writeParts(join(repo, "haproxy.cfg"), text);
    git(repo, "add", "-A");
    git(repo, "commit", "--quiet", "-m", "config");
    return git(repo, "rev-parse", "HEAD").trim();
  };
  const a = config(() => "10.0.0.1:80");
  const b = config((i) => (i === 200 ? "10.0.0.2:80" : "10.0.0.1:80"));
  return { git: gitIn(repo), a, b, first: commit(a), second: commit(b) };
}

describe("reading a config committed in parts", () => {
  it("takes the parts a known file shares from it and reads only the others out of git", async () => {
    const { git, a, b, first, second } = repoWithTwoCommits();
    expect((await readPublished(git, second, "haproxy.cfg"))?.text).toBe(b);
    // A known file whose unchanged parts say something else (same length) shows where they come from.
    const marked = a.replace(
      "server s0 10.0.0.1:80\n\nbackend be_3\n",
      "server s0 10.0.0.9:80\n\nbackend be_3\n",
    );
    const parts = (await readPublished(git, first, "haproxy.cfg"))?.parts ?? [];
    const read = await readPublished(git, second, "haproxy.cfg", {
      rev: first,
      bytes: Buffer.from(marked),
      parts,
    });
    expect(read?.text).toBe(
      b.replace("server s0 10.0.0.1:80\n\nbackend be_3\n", "server s0 10.0.0.9:80\n\nbackend be_3\n"),
    );
    expect(read?.parts?.reduce((n, p) => n + p.size, 0)).toBe(
      Buffer.byteLength(b) + (read?.parts?.at(-1)?.size ?? 0),
    );
  });

  it("a known file whose size does not match its commit's parts is not used: everything is read out of git", async () => {
    const { git, a, b, first, second } = repoWithTwoCommits();
    const parts = (await readPublished(git, first, "haproxy.cfg"))?.parts ?? [];
    const read = await readPublished(git, second, "haproxy.cfg", {
      rev: first,
      bytes: Buffer.from(`${a}#\n`),
      parts,
    });
    expect(read?.text).toBe(b);
    const wrongList = await readPublished(git, second, "haproxy.cfg", {
      rev: first,
      bytes: Buffer.from(a),
      parts: [{ id: "0".repeat(40), size: 3 }],
    });
    expect(wrongList?.text).toBe(b);
  });

  it("tells a missing file from a broken parts folder", async () => {
    const { git, second } = repoWithTwoCommits();
    expect(await readPublished(git, second, "other.cfg")).toBeUndefined();
    const repo = git.dir;
    writeFileSync(join(repo, "haproxy.cfg.parts", "index"), "gone.cfg\n");
    gitCommitAll(repo);
    expect(await readPublished(git, "HEAD", "haproxy.cfg")).toEqual({ layout: "parts" });
  });
});

function gitCommitAll(repo: string) {
  git(repo, "commit", "--quiet", "-am", "break");
}
