import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { harnessReadsExitStatusAfterKill } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig, waitUntil } from "./fixture.ts";

const recorded = (fixture: DeployFixture) => {
  const file = `${fixture.config}.mhc-deploy.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
};

describe.skipIf(!haproxyAvailable())("deploy --watch", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("deploys each new commit within seconds, only the newest of those missed, holds the lock only while deploying, and exits 0 on SIGTERM after finishing the running deploy", async () => {
    const fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const [port, portB] = [await freePort(), await freePort()];
    const first = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    const watcher = fixture.startDeploy(mode, ["--watch", "--interval", "200ms"]);
    try {
      expect(await waitUntil(() => recorded(fixture)?.commit === first, 15_000), watcher.stderr()).toBe(true);
      await waitForPort(port);

      const pushedAt = Date.now();
      const second = fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }]));
      expect(await waitUntil(() => recorded(fixture)?.commit === second, 10_000), watcher.stderr()).toBe(
        true,
      );
      expect(Date.now() - pushedAt).toBeLessThan(3_000);
      expect(recorded(fixture).applied).toBe("runtime");

      // Between deploys the lock is free: a one-shot deploy runs (and finds nothing to do).
      const oneShot = await fixture.deploy(mode);
      expect(oneShot.code, oneShot.stderr).toBe(0);

      // Commits pushed while the watcher cannot run are not replayed: only the newest is deployed.
      watcher.kill("SIGSTOP");
      const missed = [
        fixture.commit(haproxyConfig([{ port, servers: [beta().port] }])),
        fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }])),
      ];
      const newest = fixture.commit(
        haproxyConfig([{ port, servers: [beta().port] }]).replace(" s0 ", " sb "),
      );
      watcher.kill("SIGCONT");
      expect(await waitUntil(() => recorded(fixture)?.commit === newest, 10_000), watcher.stderr()).toBe(
        true,
      );
      for (const commit of missed) expect(watcher.stderr()).not.toContain(commit.slice(0, 12));
      expect((await httpGet(port)).body).toMatch(/^beta /);

      // SIGTERM while a deploy (a reload) runs: it completes, then mhc exits 0.
      const last = fixture.commit(
        haproxyConfig([
          { port, servers: [beta().port] },
          { port: portB, servers: [alpha().port] },
        ]),
      );
      expect(
        await waitUntil(() => watcher.stderr().includes(`deploying commit ${last.slice(0, 12)}`), 10_000),
      ).toBe(true);
      watcher.kill("SIGTERM");
      const stopped = await watcher.exited;
      if (harnessReadsExitStatusAfterKill) expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stderr).toContain("stopped");
      expect(recorded(fixture)?.commit).toBe(last);
      await waitForPort(portB);
    } finally {
      await watcher.stop(5_000);
    }
  });

  it("completes a reload left pending without waiting for a new commit", async () => {
    const fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const port = await freePort();
    const first = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    const watcher = fixture.startDeploy(mode, ["--watch", "--interval", "200ms"]);
    try {
      expect(await waitUntil(() => recorded(fixture)?.commit === first, 15_000), watcher.stderr()).toBe(true);
      await waitForPort(port);
      const workers = (await showProc(fixture.masterSocket))?.workerPids;
      // What a rollback whose second reload failed leaves behind: the marker for the installed file.
      const marker = `${fixture.config}.mhc-reload-pending.json`;
      writeFileSync(marker, JSON.stringify(recorded(fixture)));
      expect(await waitUntil(() => !existsSync(marker), 10_000), watcher.stderr()).toBe(true);
      expect(watcher.stderr()).toContain(
        "an earlier run installed it but was stopped before HAProxy loaded it",
      );
      expect((await showProc(fixture.masterSocket))?.workerPids).not.toEqual(workers);
    } finally {
      await watcher.stop(5_000);
    }
  });

  it("refuses --watch on a commit id and keeps going when the remote is briefly unreadable", async () => {
    const fixture = newFixture();
    const mode = ["--pid-file", fixture.pidFile];
    const port = await freePort();
    const commit = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    const pinned = await fixture.deploy(mode, ["--watch", "--ref", commit]);
    expect(pinned.code).toBe(2);
    expect(pinned.stderr).toContain("--watch follows a branch or tag");

    const watcher = fixture.startDeploy(mode, ["--watch", "--interval", "200ms"]);
    try {
      expect(await waitUntil(() => recorded(fixture)?.commit === commit, 15_000), watcher.stderr()).toBe(
        true,
      );
      renameSync(fixture.remote, `${fixture.remote}.away`);
      expect(await waitUntil(() => watcher.stderr().includes("cannot list main of"), 10_000)).toBe(true);
      renameSync(`${fixture.remote}.away`, fixture.remote);
      const next = fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
      expect(await waitUntil(() => recorded(fixture)?.commit === next, 10_000), watcher.stderr()).toBe(true);
    } finally {
      await watcher.stop(5_000);
    }
  });
});
