/**
 * A bare git repo whose branch already holds a long history of the config, as a long-running mhc
 * sync leaves it: every commit moves one server, and the last one is exactly `finalConfig`.
 * Built with `git fast-import` (seconds, not minutes) and fixed dates, so it is reproducible.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";

export interface HistoryOptions {
  repo: string;
  branch: string;
  path: string;
  finalConfig: string;
  commits: number;
}

/** The config with one server line replaced by another address: what a moved task looks like. */
function variants(config: string): (index: number) => string {
  const lines = config.split("\n");
  const serverLines = lines.flatMap((line, i) => (line.startsWith("  server ") ? [i] : []));
  if (serverLines.length === 0) throw new Error("the config has no server lines to vary");
  return (index) => {
    const at = serverLines[(index * 7919) % serverLines.length] as number;
    const original = lines[at] as string;
    const port = 40_000 + (index % 20_000);
    const host = `10.254.${(index >> 8) & 255}.${(index & 255) + 1}`;
    const check = original.split(" ").slice(5).join(" ");
    lines[at] = `  server ${host.replaceAll(".", "_")}_${port} ${host}:${port} ${check}`;
    const text = lines.join("\n");
    lines[at] = original;
    return text;
  };
}

export async function buildHistory({
  repo,
  branch,
  path,
  finalConfig,
  commits,
}: HistoryOptions): Promise<void> {
  mkdirSync(repo, { recursive: true });
  execFileSync("git", ["init", "--quiet", "--bare", "-b", branch, repo]);
  const child = spawn("git", ["fast-import", "--quiet"], {
    cwd: repo,
    stdio: ["pipe", "inherit", "inherit"],
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import: exit ${code}`)),
    );
  });
  const write = (chunk: string) =>
    child.stdin.write(chunk) ? Promise.resolve() : new Promise<void>((r) => child.stdin.once("drain", r));
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}`;
  const variant = variants(finalConfig);
  for (let i = 0; i < commits; i++) {
    const content = i === commits - 1 ? finalConfig : variant(i);
    const when = 1_767_225_600 + i * 600; // 2026-01-01, one sync every ten minutes
    await write(
      [
        `commit refs/heads/${branch}`,
        `mark :${i + 1}`,
        `committer mhc <mhc@localhost> ${when} +0000`,
        data(`haproxy: synthetic history ${i + 1} of ${commits}\n`),
        ...(i > 0 ? [`from :${i}`] : []),
        `M 100644 inline ${path}`,
        data(content),
        "",
      ].join("\n"),
    );
  }
  child.stdin.end();
  await done;
}
