import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webWithHosts } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { tempDir } from "../helpers/git.ts";

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
