import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { ownedTempDir } from "../../src/io/temp.ts";
import { tempDir } from "../helpers/git.ts";

const children: ChildProcess[] = [];
const savedTmp = process.env.TMPDIR;
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  process.env.TMPDIR = savedTmp;
});

/** The pid of a process that has exited. */
const deadPid = () => spawnSync("true").pid as number;

function folder(tmp: string, name: string, writtenAgoMs = 0): string {
  const path = join(tmp, name);
  mkdirSync(path);
  writeFileSync(join(path, "haproxy.cfg"), "user alice insecure-password s3cret\n");
  const at = (Date.now() - writtenAgoMs) / 1000;
  utimesSync(path, at, at);
  return path;
}

describe("temporary folders a killed run left behind", () => {
  it("are removed by the next run when their owner is gone (dead pid, or a pid reused since); live owners' and others' stay", async () => {
    const tmp = tempDir("mhc-tmpdir-");
    process.env.TMPDIR = tmp;
    const live = spawn("sleep", ["30"]);
    children.push(live);
    await new Promise((r) => live.once("spawn", r));
    const dead = folder(tmp, `mhc-validate-${deadPid()}-aB3xYz`);
    const reused = folder(tmp, `mhc-validate-${live.pid}-Qw3rTy`, 3_600_000);
    await new Promise((r) => setTimeout(r, 50));
    const owned = folder(tmp, `mhc-validate-${live.pid}-kEEp01`);
    const other = folder(tmp, `mhc-other-${deadPid()}-kEEp02`);
    const unnamed = folder(tmp, "mhc-validate-kEEp03");

    const made = await ownedTempDir("mhc-validate");
    expect(dirname(made)).toBe(tmp);
    expect(basename(made)).toMatch(new RegExp(`^mhc-validate-${process.pid}-\\w{6}$`));
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(reused)).toBe(false);
    for (const kept of [owned, other, unnamed, made]) expect(existsSync(kept)).toBe(true);
  });
});
