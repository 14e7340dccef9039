import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode, type MhcError } from "../../src/errors.ts";
import { removeStaleSiblings, writeFileAtomic } from "../../src/io/files.ts";
import { runMhc } from "../helpers/cli.ts";

async function writeError(path: string): Promise<MhcError | undefined> {
  try {
    await writeFileAtomic(path, "new\n");
  } catch (error) {
    return error as MhcError;
  }
  return undefined;
}

describe("writing a file never replaces device nodes or symlinks", () => {
  const dir = mkdtempSync(join(tmpdir(), "mhc-files-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes through a symlink to its target atomically; the link stays a link", async () => {
    const target = join(dir, "real.cfg");
    const link = join(dir, "link.cfg");
    writeFileSync(target, "old\n");
    symlinkSync("real.cfg", link);
    expect(await writeFileAtomic(link, "new\n")).toBe("written");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("real.cfg");
    expect(readFileSync(target, "utf8")).toBe("new\n");
  });

  it("refuses a fifo, a folder and a symlink to nothing (exit 8), leaving them as they are", async () => {
    const fifo = join(dir, "fifo");
    spawnSync("mkfifo", [fifo]);
    const dangling = join(dir, "dangling.cfg");
    symlinkSync("missing.cfg", dangling);
    for (const path of [fifo, dir, dangling]) {
      const error = await writeError(path);
      expect(error?.exitCode, path).toBe(ExitCode.io);
    }
    expect((await writeError(fifo))?.message).toContain("is not a regular file; refusing to replace it");
    expect((await writeError(dangling))?.message).toContain(
      "is a symlink to missing.cfg, which does not exist",
    );
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a device node such as /dev/null (as root)", async () => {
    const device = join(dir, "null");
    expect(spawnSync("mknod", [device, "c", "1", "3"]).status).toBe(0);
    const error = await writeError(device);
    expect(error?.exitCode).toBe(ExitCode.io);
    expect(statSync(device).isCharacterDevice()).toBe(true);
  });

  it("render -o refuses a device or fifo with exit 8 and writes through a symlink", async () => {
    const snapshot = join(dir, "empty.json");
    writeFileSync(snapshot, JSON.stringify({ apps: [] }));
    const fifo = join(dir, "render.fifo");
    spawnSync("mkfifo", [fifo]);
    const refused = await runMhc(["render", "--from", snapshot, "-o", fifo]);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain("is not a regular file; refusing");
    expect(statSync(fifo).isFIFO()).toBe(true);

    const target = join(dir, "rendered.cfg");
    const link = join(dir, "rendered-link.cfg");
    writeFileSync(target, "");
    symlinkSync(target, link);
    const written = await runMhc(["render", "--from", snapshot, "-o", link]);
    expect(written.code, written.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toContain("global");
  });
});

describe("temp files a killed write left beside a file", () => {
  it("are removed by the next write when their owner is gone; a live owner's and other files' stay", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mhc-siblings-"));
    const path = join(dir, "haproxy.cfg");
    const dead = spawnSync("true").pid as number;
    const live = spawn("sleep", ["30"]);
    await new Promise((r) => live.once("spawn", r));
    try {
      const names = {
        staleTemp: `.haproxy.cfg.tmp-${dead}-deadbeef`,
        staleCandidate: `.haproxy.cfg.mhc-candidate-${dead}-deadbeef`,
        liveTemp: `.haproxy.cfg.tmp-${live.pid}-cafebabe`,
        otherFile: `.other.cfg.tmp-${dead}-deadbeef`,
        notOurs: `.haproxy.cfg.tmp-${dead}-by-hand`,
      };
      for (const name of Object.values(names))
        writeFileSync(join(dir, name), "user alice insecure-password s3cret\n");
      const left = () =>
        Object.entries(names)
          .filter(([, name]) => existsSync(join(dir, name)))
          .map(([key]) => key);

      expect(await writeFileAtomic(path, "global\n")).toBe("written");
      expect(left()).toEqual(["staleCandidate", "liveTemp", "otherFile", "notOurs"]);
      await removeStaleSiblings(path, "mhc-candidate");
      expect(left()).toEqual(["liveTemp", "otherFile", "notOurs"]);
      expect(readFileSync(path, "utf8")).toBe("global\n");
    } finally {
      live.kill("SIGKILL");
    }
  });
});
