import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { isAlive } from "../../src/io/processes.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { deploySuite, haproxyConfig, waitUntil } from "./fixture.ts";

async function answers(port: number, name: string): Promise<boolean> {
  return waitUntil(
    async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `),
    5_000,
  );
}

describe.skipIf(!haproxyAvailable())("a deploy interrupted between install and reload", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it.each(["SIGKILL", "SIGTERM"] as const)(
    "reloads on the next run after %s during the reload, and --status says the reload is pending",
    async (signal) => {
      const fixture = newFixture();
      const port = await freePort();
      const v1 = haproxyConfig([{ port, servers: [alpha().port] }]);
      fixture.commit(v1);
      const master = fixture.startMasterWorker(v1); // as under systemd
      await waitForPort(port);
      const reload = ["--reload-cmd", `kill -USR2 ${master}`];
      expect((await fixture.deploy(reload)).code).toBe(0);

      fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
      const started = join(fixture.dir, "reload-started");
      const hanging = fixture.startDeploy(["--reload-cmd", `sh -c 'echo $$ > ${started}; exec sleep 60'`]);
      expect(
        await waitUntil(() => existsSync(started) && readFileSync(started, "utf8").trim() !== "", 20_000),
      ).toBe(true);
      hanging.kill(signal);
      await hanging.exited;
      const sleeper = Number(readFileSync(started, "utf8").trim());
      if (isAlive(sleeper)) process.kill(sleeper, "SIGKILL");
      expect(await answers(port, "alpha")).toBe(true); // installed, but HAProxy still runs v1

      const status = await fixture.deploy(["--master-socket", fixture.masterSocket], ["--status", "--json"]);
      expect(status.code, status.stdout).toBe(1);
      const parsed = JSON.parse(status.stdout);
      expect(parsed.state).toBe("pending");
      expect(parsed.haproxy).toMatchObject({ running: true, loadedInstalled: false });
      expect(parsed.haproxy.configs).toEqual([fixture.config]);

      const next = await fixture.deploy(reload);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain("an earlier run installed it but was stopped before HAProxy loaded it");
      expect(await answers(port, "beta")).toBe(true);
      const after = await fixture.deploy(["--master-socket", fixture.masterSocket], ["--status", "--json"]);
      expect(JSON.parse(after.stdout)).toMatchObject({ state: "current", pendingCommit: null });
      expect(after.code).toBe(0);
    },
    60_000,
  );
});
