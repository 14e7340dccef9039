import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { isAlive } from "../../src/io/processes.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { type Backend, freePort, startNamedHttpServer, waitForPort } from "../helpers/net.ts";
import { DeployFixture, haproxyConfig, waitUntil } from "./fixture.ts";
import { startLoad } from "./load.ts";

const deploys = 20;

/**
 * The hardest requirement: while clients keep opening new connections through HAProxy,
 * 20 deploys alternate between two server sets, and not a single request may fail.
 */
describe.skipIf(!haproxyAvailable())("reload under load: zero failed requests", () => {
  let backends: Backend[] = [];
  let fixture: DeployFixture;

  beforeAll(async () => {
    backends = await Promise.all(["blue-1", "blue-2", "green-1", "green-2"].map(startNamedHttpServer));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });
  afterEach(async () => {
    await fixture?.cleanup();
  });

  /** `prepare` may start HAProxy itself (as a service manager would) and returns the reload flags. */
  async function alternateUnderLoad(
    prepare: (blue: string) => string[] | Promise<string[]>,
    globalExtra: string[] = [],
  ) {
    const port = await freePort();
    const [blue1, blue2, green1, green2] = backends.map((b) => b.port) as [number, number, number, number];
    const blue = haproxyConfig([{ port, servers: [blue1, blue2] }], globalExtra);
    fixture.commit(blue, "blue");
    fixture.commit(haproxyConfig([{ port, servers: [green1, green2] }], globalExtra), "green");
    // Only servers change between blue and green: without --no-runtime no reload would happen at all.
    const mode = [...(await prepare(blue)), "--no-runtime"];
    const start = await fixture.deploy(mode, ["--ref", "blue"]);
    expect(start.code, start.stderr).toBe(0);
    await waitForPort(port);

    const load = startLoad(port, { concurrency: 4, maxMs: 60_000 });
    const started = Date.now();
    const logs: string[] = [];
    for (let i = 0; i < deploys; i++) {
      const result = await fixture.deploy(mode, ["--ref", i % 2 === 0 ? "green" : "blue"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("deploying commit");
      logs.push(result.stderr);
    }
    const result = await load.stop();
    const seconds = (Date.now() - started) / 1000;
    console.info(`${mode[0]}: ${deploys} deploys in ${seconds.toFixed(1)} s, ${JSON.stringify(result)}`);
    expect(result.errors).toEqual({});
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(deploys * 10);
    for (const name of ["blue-1", "blue-2", "green-1", "green-2"])
      expect(result.answeredBy[name]).toBeGreaterThan(0);
    return logs;
  }

  it("--pid-file with expose-fd listeners (-sf plus -x); old processes do not pile up: every replaced pid exits", async () => {
    fixture = new DeployFixture();
    const logs = await alternateUnderLoad(
      () => ["--pid-file", fixture.pidFile],
      [`stats socket ${fixture.adminSocket} mode 600 level admin expose-fd listeners`],
    );
    // Old processes must not pile up: every replaced pid exits once its connections are done.
    const replaced = logs.flatMap((l) =>
      [...l.matchAll(/replaces ([\d ]+)/g)].flatMap((m) => m[1]?.split(" ") ?? []),
    );
    expect(replaced.length).toBe(deploys);
    expect(await waitUntil(() => replaced.every((pid) => !isAlive(Number(pid))), 10_000)).toBe(true);
  }, 90_000);

  it("--master-socket (master-worker, listeners handed over by the master); old workers do not pile up: one worker is left", async () => {
    fixture = new DeployFixture();
    await alternateUnderLoad(() => ["--master-socket", fixture.masterSocket]);
    const settled = await waitUntil(
      async () => (await showProc(fixture.masterSocket))?.workerPids.length === 1,
      10_000,
    );
    expect(settled).toBe(true);
  }, 90_000);

  it("--reload-cmd signalling a master-worker HAProxy, as systemd's reload does", async () => {
    fixture = new DeployFixture();
    await alternateUnderLoad((blue) => {
      const master = fixture.startMasterWorker(blue);
      return ["--reload-cmd", `kill -USR2 ${master}`];
    });
  }, 90_000);
});
