import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitIn, gitReason } from "../../src/git/git.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc, startMhc } from "../helpers/cli.ts";
import { tempDir } from "../helpers/git.ts";
import { eventually, sleep } from "../helpers/wait.ts";

/** An HTTP "git server" on loopback that accepts connections and never answers. */
let stalled: Server;
let port: number;
const sockets = new Set<Socket>();

beforeAll(async () => {
  stalled = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
  port = (stalled.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => stalled.close(resolve));
});

/** Live (not zombie) git processes whose command line names `address`. */
function gitProcessesTalkingTo(address: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      const isGit = /(^|\/)git(-remote-\w+)?$/.test(argv[0] ?? "");
      if (isGit && argv.some((arg) => arg.includes(address)) && state !== "Z")
        found.push(`${pid} ${argv.join(" ")}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const snapshot = () => {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(
    file,
    JSON.stringify(snapshotOf(hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31000] })]))),
  );
  return file;
};

describe("every git operation has a deadline", () => {
  it("a stalled git remote: sync exits 9 promptly after --git-timeout and leaves no git process behind", async () => {
    const url = `http://127.0.0.1:${port}/config.git`;
    const started = Date.now();
    const result = await runMhc(
      ["sync", "--from", snapshot(), "--repo", url, "--git-timeout", "2", "--workdir", join(tempDir(), "w")],
      { timeoutMs: 30_000 },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(9);
    expect(result.stderr).toContain("did not finish within 2 s (--git-timeout)");
    expect(seconds).toBeLessThan(8);
    expect(gitProcessesTalkingTo(`127.0.0.1:${port}`)).toEqual([]);
  });

  it("a stalled git remote: deploy exits 9 promptly after --git-timeout and leaves no git process behind", async () => {
    const dir = tempDir();
    const started = Date.now();
    const result = await runMhc(
      [
        "deploy",
        "--repo",
        `http://127.0.0.1:${port}/deploy.git`,
        "--config",
        join(dir, "haproxy.cfg"),
        "--reload-cmd",
        "true",
        "--workdir",
        join(dir, "cache"),
        "--git-timeout",
        "2",
      ],
      { timeoutMs: 30_000 },
    );
    expect(result.code, result.stderr).toBe(9);
    expect(result.stderr).toContain("--git-timeout");
    expect((Date.now() - started) / 1000).toBeLessThan(8);
    expect(gitProcessesTalkingTo(`127.0.0.1:${port}`)).toEqual([]);
  });

  it("SIGTERM during a stalled git call ends mhc and its git processes", async () => {
    const url = `http://127.0.0.1:${port}/signalled.git`;
    const running = startMhc([
      "sync",
      "--from",
      snapshot(),
      "--repo",
      url,
      "--workdir",
      join(tempDir(), "w"),
    ]);
    await eventually(() => gitProcessesTalkingTo(url).length > 0, "git to connect");
    const started = Date.now();
    running.kill("SIGTERM");
    await running.exited;
    expect(Date.now() - started).toBeLessThan(3000);
    await sleep(300);
    expect(gitProcessesTalkingTo(url)).toEqual([]);
  });

  it("--git-timeout must be a positive number of seconds", async () => {
    const result = await runMhc(["sync", "--from", snapshot(), "--repo", tempDir(), "--git-timeout", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--git-timeout must be");
  });

  it("the runner kills git's whole process group at the deadline", async () => {
    const git = gitIn(tempDir(), { timeoutMs: 1000 });
    const url = `http://127.0.0.1:${port}/runner.git`;
    await expect(git.git(["ls-remote", url])).rejects.toThrow("did not finish within 1 s");
    await sleep(300);
    expect(gitProcessesTalkingTo(url)).toEqual([]);
  });

  it("hands large input to git through stdin", async () => {
    const git = gitIn(tempDir());
    const text = "x".repeat(1_000_000);
    expect((await git.git(["hash-object", "--stdin"], text)).trim()).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe("gitReason picks git's most telling line, without credentials", () => {
  it.each([
    ["hint: a\nfatal: repository not found\n", "fatal: repository not found"],
    ["Cloning...\nerror: cannot lock ref\n", "error: cannot lock ref"],
    [" ! [rejected] HEAD -> main (fetch first)\n", "! [rejected] HEAD -> main (fetch first)"],
    [
      "fatal: unable to access 'https://u:secret@h/r.git/'\n",
      "fatal: unable to access 'https://***@h/r.git/'",
    ],
    ["just text\n", "just text"],
    ["", "unknown error"],
  ])("%j → %j", (output, reason) => {
    expect(gitReason(output)).toBe(reason);
  });
});

describe("git that cannot run", () => {
  it("says git is missing when it is not on PATH, and names a missing folder", async () => {
    const saved = process.env.PATH;
    process.env.PATH = tempDir();
    try {
      await expect(gitIn(tempDir()).git(["--version"])).rejects.toThrow(
        "git is not installed (not found on PATH)",
      );
    } finally {
      process.env.PATH = saved;
    }
    await expect(gitIn(join(tempDir(), "gone")).git(["status"])).rejects.toThrow("the folder does not exist");
  });
});
