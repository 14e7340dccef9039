import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { bootId, startTicks } from "../../src/io/processes.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, startNamedHttpServer } from "../helpers/net.ts";
import { DeployFixture, haproxyConfig } from "./fixture.ts";

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  return spawnSync("true").pid;
}

describe.skipIf(!haproxyAvailable())("mhc deploy and the lock (end to end)", () => {
  let fixture: DeployFixture;
  afterEach(async () => {
    await fixture?.cleanup();
  });

  it("exits 13 while another deploy holds the lock, takes over a stale or reused-pid one, and never interleaves", async () => {
    fixture = new DeployFixture();
    const backend = await startNamedHttpServer("alpha");
    try {
      const v1 = haproxyConfig([{ port: await freePort(), servers: [backend.port] }]);
      fixture.commit(v1);
      const lock = `${fixture.config}.mhc-deploy.lock`;
      const mode = ["--pid-file", fixture.pidFile];

      writeFileSync(lock, `${process.pid} ${hostname()}\n`);
      const locked = await fixture.deploy(mode);
      expect(locked.code).toBe(13);
      expect(locked.stderr).toContain(`pid ${process.pid}`);
      expect(existsSync(fixture.config)).toBe(false);

      writeFileSync(lock, `${deadPid()} ${hostname()}\n`);
      const takeover = await fixture.deploy(mode);
      expect(takeover.code, takeover.stderr).toBe(0);
      expect(takeover.stderr).toContain("took over a stale lock");
      expect(fixture.installed()).toBe(v1);
      expect(existsSync(lock)).toBe(false);

      // A live pid that is not the holder (reused after a crash or reboot): its start time differs.
      fixture.commit(haproxyConfig([{ port: await freePort(), servers: [backend.port] }]));
      writeFileSync(lock, `${process.pid} ${hostname()} ${bootId()} ${(startTicks(process.pid) ?? 0) - 1}\n`);
      const reused = await fixture.deploy(mode);
      expect(reused.code, reused.stderr).toBe(0);
      expect(reused.stderr).toContain("took over a stale lock");

      fixture.commit(haproxyConfig([{ port: await freePort(), servers: [backend.port] }]));
      const racing = await Promise.all([fixture.deploy(mode), fixture.deploy(mode), fixture.deploy(mode)]);
      for (const result of racing) expect([0, 13], result.stderr).toContain(result.code);
      expect(racing.filter((r) => r.stderr.includes("deploying commit"))).toHaveLength(1);
      expect(existsSync(lock)).toBe(false);
    } finally {
      await backend.close();
    }
  });
});
