import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig } from "./fixture.ts";
import { startLoad } from "./load.ts";

/** A port held by a process that is not HAProxy. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { port: typeof address === "object" && address ? address.port : 0, server };
}

describe.skipIf(!haproxyAvailable())("a commit that cannot bind never blacks out unchanged services", () => {
  const { alpha, beta, newFixture } = deploySuite();

  const modes: [string, (f: DeployFixture, v1: string) => string[], (f: DeployFixture) => string[]][] = [
    [
      "--pid-file",
      (f) => ["--pid-file", f.pidFile],
      (f) => [`stats socket ${f.adminSocket} mode 600 level admin expose-fd listeners`],
    ],
    ["--master-socket", (f) => ["--master-socket", f.masterSocket], () => []],
    ["--reload-cmd", (f, v1) => ["--reload-cmd", `kill -USR2 ${f.startMasterWorker(v1)}`], () => []],
  ];

  it.each(modes)(
    "%s: 0 refused connections while it is tried; a candidate that failed to load is not tried again until a newer commit",
    async (_name, prepare, globalExtra) => {
      const fixture = newFixture();
      const port = await freePort();
      const v1 = haproxyConfig([{ port, servers: [alpha().port] }], globalExtra(fixture));
      const good = fixture.commit(v1);
      const mode = prepare(fixture, v1);
      expect((await fixture.deploy(mode)).code).toBe(0);
      await waitForPort(port);

      const held = await holdPort();
      const load = startLoad(port, { concurrency: 4, maxMs: 60_000 });
      try {
        const bad = fixture.commit(
          haproxyConfig(
            [
              { port, servers: [alpha().port] },
              { port: held.port, servers: [beta().port] },
            ],
            globalExtra(fixture),
          ),
        );
        const first = await fixture.deploy(mode);
        expect(first.code, first.stderr).toBe(12);
        expect(first.stderr).toContain(`cannot bind 127.0.0.1:${held.port} (in use by another process)`);

        const again = await fixture.deploy(mode);
        expect(again.code).toBe(12);
        expect(again.stderr).not.toContain("deploying commit");
        expect(again.stderr).toContain(`commit ${bad.slice(0, 12)} failed to load before`);
        expect(again.stderr).toContain(`HAProxy stays on commit ${good.slice(0, 12)}`);

        const status = await fixture.deploy([], ["--status", "--json"]);
        expect(status.code).toBe(12);
        expect(JSON.parse(status.stdout)).toMatchObject({
          state: "held",
          exitCode: 12,
          record: { commit: good },
          failed: { commit: bad },
        });

        const retried = await fixture.deploy(mode, ["--retry-failed"]);
        expect(retried.code).toBe(12);
        expect(retried.stderr).toContain("deploying commit");
      } finally {
        held.server.close();
      }
      const result = await load.stop();
      expect(result.errors).toEqual({});
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(10);

      // A newer commit is tried at once; success clears the hold.
      fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }], globalExtra(fixture)));
      const newer = await fixture.deploy(mode);
      expect(newer.code, newer.stderr).toBe(0);
      const current = await fixture.deploy([], ["--status", "--json"]);
      expect(JSON.parse(current.stdout)).toMatchObject({ state: "current", failed: null });
    },
    90_000,
  );

  it("names five listeners that cannot be bound and counts the rest, on one line", async () => {
    const fixture = newFixture();
    const held = await Promise.all(Array.from({ length: 7 }, holdPort));
    try {
      fixture.commit(haproxyConfig(held.map(({ port }) => ({ port, servers: [alpha().port] }))));
      const refused = await fixture.deploy(["--reload-cmd", "true"]);
      expect(refused.code, refused.stderr).toBe(12);
      const line = refused.stderr.split("\n").find((l) => l.includes("cannot bind")) ?? "";
      expect(line.match(/in use by another process/g)).toHaveLength(5);
      expect(line).toContain(") and 2 more; kept ");
    } finally {
      for (const { server } of held) server.close();
    }
  });
});
