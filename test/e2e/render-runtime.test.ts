import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { deploySuite, waitUntil } from "../deploy/fixture.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";

describe.skipIf(!haproxyAvailable())("render -o FILE --exec CMD --runtime-socket SOCKET", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("applies server-only changes over the Runtime API without running --exec, and runs --exec for the rest", async () => {
    const fixture = newFixture();
    const [port, other] = [await freePort(), await freePort()];
    const web = (ports: number[]) =>
      hostApp(
        "/web",
        [port],
        ports.map((p) => task({ host: "127.0.0.1", ports: [p] })),
      );
    const snapshot = (...apps: Record<string, unknown>[]) => {
      const file = join(fixture.dir, `snapshot-${Math.random()}.json`);
      writeFileSync(file, JSON.stringify(snapshotOf(...apps)));
      return file;
    };
    const marker = join(fixture.dir, "exec-ran");
    const render = (from: string) =>
      runMhc([
        "render",
        "--from",
        from,
        "--stats-port",
        "0",
        "-o",
        fixture.config,
        "--exec",
        `touch ${marker}`,
        "--runtime-socket",
        fixture.masterSocket,
      ]);
    const first = await runMhc(["render", "--from", snapshot(web([alpha().port])), "--stats-port", "0"]);
    fixture.startMasterWorker(first.stdout);
    await waitForPort(port);
    expect(await waitUntil(async () => (await showProc(fixture.masterSocket)) !== undefined, 5_000)).toBe(
      true,
    );
    const workers = (await showProc(fixture.masterSocket))?.workerPids;

    const scaled = await render(snapshot(web([alpha().port, beta().port])));
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stderr).toContain("applied over the Runtime API (1 added)");
    expect(existsSync(marker)).toBe(false);
    expect((await showProc(fixture.masterSocket))?.workerPids).toEqual(workers);
    const answered = async (name: string) =>
      waitUntil(
        async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `),
        5_000,
      );
    expect(await answered("beta")).toBe(true);
    expect(fixture.installed()).toContain(`127.0.0.1:${beta().port}`);

    const grown = await render(
      snapshot(
        web([alpha().port, beta().port]),
        hostApp("/api", [other], [task({ host: "127.0.0.1", ports: [alpha().port] })]),
      ),
    );
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stderr).toContain("sections were added, removed or renamed; running touch");
    expect(existsSync(marker)).toBe(true);

    const usage = await runMhc([
      "render",
      "--from",
      snapshot(web([alpha().port])),
      "-o",
      fixture.config,
      "--runtime-socket",
      fixture.masterSocket,
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("give --exec CMD");
  });
});
