import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ExitCode, type MhcError } from "../../src/errors.ts";
import { acquireLock } from "../../src/io/lock.ts";

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  return spawnSync("true").pid;
}

async function lockError(path: string): Promise<MhcError | undefined> {
  try {
    await acquireLock(path, { holder: "another deploy" });
  } catch (error) {
    return error as MhcError;
  }
  return undefined;
}

describe("lock files", () => {
  const dir = mkdtempSync(join(tmpdir(), "mhc-lock-"));
  const lock = join(dir, "haproxy.cfg.mhc-deploy.lock");
  afterEach(() => rmSync(lock, { force: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lets one holder in at a time and frees the lock on release", async () => {
    const release = await acquireLock(lock, { holder: "another deploy" });
    expect(readFileSync(lock, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    const error = await lockError(lock);
    expect(error?.exitCode).toBe(ExitCode.locked);
    expect(error?.message).toContain(`pid ${process.pid}`);
    await release();
    expect(existsSync(lock)).toBe(false);
    await (await acquireLock(lock, { holder: "another deploy" }))();
  });

  it("takes over a lock whose process is dead", async () => {
    writeFileSync(lock, `${deadPid()} ${hostname()}\n`);
    const release = await acquireLock(lock, { holder: "another deploy" });
    expect(readFileSync(lock, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await release();
  });

  it("waits for a live holder when asked to, then gets it", async () => {
    const release = await acquireLock(lock, { holder: "another deploy" });
    setTimeout(() => void release(), 300);
    const second = await acquireLock(lock, { holder: "another sync", waitMs: 5_000 });
    expect(readFileSync(lock, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await second();
  });

  it("respects a live pid and a lock from another host", async () => {
    writeFileSync(lock, `${process.ppid} ${hostname()}\n`);
    expect((await lockError(lock))?.exitCode).toBe(ExitCode.locked);
    writeFileSync(lock, `${deadPid()} some-other-host\n`);
    expect((await lockError(lock))?.exitCode).toBe(ExitCode.locked);
  });
});
