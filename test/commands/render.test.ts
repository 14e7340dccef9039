import { createHash } from "node:crypto";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { webWithHosts } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { tempDir } from "../helpers/git.ts";
import { json, startMarathon } from "../helpers/marathon.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("mhc render -o FILE --exec CMD", () => {
  it("two runs at once take turns: each --exec sees the config its own run wrote", async () => {
    const dir = tempDir("mhc-render-");
    const output = join(dir, "haproxy.cfg");
    const log = join(dir, "exec.log");
    const expected = new Map<string, number>();
    for (const hosts of [2, 3, 4, 5]) {
      const file = join(dir, `c${hosts}.json`);
      writeFileSync(file, JSON.stringify(webWithHosts(hosts)));
      const rendered = await runMhc(["render", "--from", file]);
      expected.set(sha(rendered.stdout), hosts);
    }
    const first = await runMhc(["render", "--from", join(dir, "c4.json"), "-o", output]);
    expect(first.code).toBe(0);

    for (let round = 0; round < 3; round++) {
      const runs = [3, 2, 5, 3].map((hosts) =>
        runMhc([
          "render",
          "--from",
          join(dir, `c${hosts}.json`),
          "-o",
          output,
          "--max-drop",
          "100",
          "--exec",
          `sh -c 'echo ${hosts} $(sha256sum ${output} | cut -d" " -f1) >> ${log}'`,
        ]),
      );
      for (const result of await Promise.all(runs)) expect(result.code, result.stderr).toBe(0);
    }
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const [hosts, hash] = line.split(" ");
      expect(expected.get(hash ?? ""), line).toBe(Number(hosts));
    }
  });
});

describe("mhc render checks every flag it is given", () => {
  const snapshot = join(tempDir("mhc-render-"), "apps.json");
  writeFileSync(snapshot, JSON.stringify(webWithHosts(2)));
  const firstLine = (stderr: string) => stderr.split("\n")[0];

  it.each([
    [["--http-bind", "0.0.0.0 ssl crt /x"], '--http-bind "0.0.0.0 ssl crt /x" is not an IP address or *'],
    [["--stats-bind", "127.0.0.1\n  server x"], '--stats-bind "127.0.0.1\n  server x" contains a line break'],
    [["--stats-bind", "localhost"], '--stats-bind "localhost" is not an IP address or *'],
    [["--http-port", "8e1"], '--http-port must be an integer from 0 to 65535, not "8e1"'],
    [["--stats-port", "0x50"], '--stats-port must be an integer from 0 to 65535, not "0x50"'],
    [["--max-drop", "101"], '--max-drop must be a number from 0 to 100, not "101"'],
    [["--force"], "--force and --max-drop guard the -o FILE they would replace; give -o FILE"],
    [["--max-drop", "10"], "--force and --max-drop guard the -o FILE they would replace; give -o FILE"],
  ])("%j is a usage error, nothing rendered", async (flags, error) => {
    const result = await runMhc(["render", "--from", snapshot, ...flags]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(firstLine(result.stderr)).toBe(`mhc: error: ${error.split("\n")[0]}`);
  });

  it("bind addresses are written in canonical form", async () => {
    const result = await runMhc(["render", "--from", snapshot, "--stats-bind", "0:0:0:0:0:0:0:1"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("  bind [::1]:9090\n");
  });
});

describe("mhc render -o FILE in a folder that does not exist", () => {
  it("says so up front, naming -o and the folder, exit 8", async () => {
    const snapshot = join(tempDir("mhc-render-"), "apps.json");
    writeFileSync(snapshot, JSON.stringify(webWithHosts(1)));
    const output = join(tempDir("mhc-render-"), "missing", "haproxy.cfg");
    const result = await runMhc(["render", "--from", snapshot, "-o", output]);
    expect(result.code).toBe(8);
    expect(result.stderr).toBe(`mhc: error: cannot write -o ${output}: ${dirname(output)} is not a folder\n`);
  });
});

describe("mhc render -o never overwrites its own input", () => {
  it.each([
    ["--from", (file: string) => ["--from", file]],
    ["--head", (file: string) => ["--from", join(dirname(file), "apps.json"), "--head", file]],
  ])(
    "-o naming the %s file (by another spelling or a symlink) is a usage error; the file is kept",
    async (flag, args) => {
      const dir = tempDir("mhc-render-");
      writeFileSync(join(dir, "apps.json"), JSON.stringify(webWithHosts(1)));
      const input = join(dir, flag === "--from" ? "apps.json" : "head.cfg");
      if (flag === "--head") writeFileSync(input, "global\n  maxconn 100\n");
      const before = readFileSync(input, "utf8");
      symlinkSync(input, join(dir, "link"));
      for (const output of [input, `${dir}/./${basename(input)}`, join(dir, "link")]) {
        const result = await runMhc(["render", ...args(input), "-o", output]);
        expect(result.code).toBe(2);
        expect(result.stderr.split("\n")[0]).toBe(
          `mhc: error: -o ${output} is the ${flag} file; write the config to another file`,
        );
        expect(readFileSync(input, "utf8")).toBe(before);
      }
    },
  );
});

describe("what mhc render --watch cannot do", () => {
  it("the watch-only flags without --watch, --watch --from and --watch --json are usage errors, before Marathon is read", async () => {
    const marathon = await startMarathon(() => json(webWithHosts(1)));
    try {
      const dir = tempDir("mhc-render-");
      const out = join(dir, "haproxy.cfg");
      writeFileSync(join(dir, "apps.json"), JSON.stringify(webWithHosts(1)));
      for (const [args, error] of [
        [["--wait", "1s"], "--wait only applies with --watch"],
        [["--resync", "1m"], "--resync only applies with --watch"],
        [["--idle-timeout", "5s"], "--idle-timeout only applies with --watch"],
        [["--status-file", join(dir, "status.json")], "--status-file only applies with --watch"],
        [["--no-incremental"], "--no-incremental only applies with --watch"],
        [["--watch", "--json"], "--watch writes -o FILE; it cannot print --json"],
      ] as const) {
        const result = await runMhc(["render", marathon.url, "-o", out, ...args]);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr.split("\n")[0]).toBe(`mhc: error: ${error}`);
      }
      const fromFile = await runMhc(["render", "--watch", "--from", join(dir, "apps.json"), "-o", out]);
      expect(fromFile.code).toBe(2);
      expect(fromFile.stderr).toContain("it cannot watch --from");
      expect(marathon.requests).toEqual([]);
    } finally {
      await marathon.close();
    }
  });
});
