import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ExitCode, type MhcError } from "../../src/errors.ts";
import { acquireLock, ownerLine } from "../../src/io/lock.ts";
import { bootId, startTicks } from "../../src/io/processes.ts";

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
    expect(readFileSync(lock, "utf8")).toBe(ownerLine(process.pid));
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
    expect(readFileSync(lock, "utf8")).toBe(ownerLine(process.pid));
    await release();
  });

  it("waits for a live holder when asked to, then gets it", async () => {
    const release = await acquireLock(lock, { holder: "another deploy" });
    setTimeout(() => void release(), 300);
    const second = await acquireLock(lock, { holder: "another sync", waitMs: 5_000 });
    expect(readFileSync(lock, "utf8")).toBe(ownerLine(process.pid));
    await second();
  });

  it("records the holder's pid, host, boot id and start time", () => {
    expect(ownerLine(process.pid)).toBe(
      `${process.pid} ${hostname()} ${bootId()} ${startTicks(process.pid)}\n`,
    );
  });

  it("respects a live pid and a lock from another host", async () => {
    writeFileSync(lock, ownerLine(process.ppid));
    expect((await lockError(lock))?.exitCode).toBe(ExitCode.locked);
    writeFileSync(lock, `${process.ppid} ${hostname()}\n`); // written by an older mhc: pid only
    expect((await lockError(lock))?.exitCode).toBe(ExitCode.locked);
    writeFileSync(lock, `${deadPid()} some-other-host\n`);
    expect((await lockError(lock))?.exitCode).toBe(ExitCode.locked);
  });

  it("a lock whose pid was reused does not block: taken over after a crash or a reboot", async () => {
    const live = process.ppid; // alive, but not the process that took the lock
    const ticks = startTicks(live) as number;
    writeFileSync(lock, `${live} ${hostname()} ${bootId()} ${ticks - 1}\n`);
    const afterCrash = await acquireLock(lock, { holder: "another deploy" });
    expect(readFileSync(lock, "utf8")).toBe(ownerLine(process.pid));
    await afterCrash();

    writeFileSync(lock, `${live} ${hostname()} 00000000-0000-0000-0000-000000000000 ${ticks}\n`);
    const afterReboot = await acquireLock(lock, { holder: "another deploy" });
    expect(readFileSync(lock, "utf8")).toBe(ownerLine(process.pid));
    await afterReboot();
  });
});
