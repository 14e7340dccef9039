import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { deploySuite, haproxyConfig } from "../../deploy/fixture.ts";
import { haproxyAvailable } from "../../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../../helpers/net.ts";

/** The newest HAProxy's command line, from the pid file. */
const commandLineOf = (pidFile: string) => {
  const pid = readFileSync(pidFile, "utf8").trim().split(/\s+/).at(-1);
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
};
const noExposeFd = "has no `stats socket … expose-fd listeners`";

describe.skipIf(!haproxyAvailable())("--pid-file reloads and the listeners socket", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("passes -x with the running config's expose-fd socket; without that line it warns on every reload", async () => {
    const fixture = newFixture();
    const pidMode = ["--pid-file", fixture.pidFile];
    const port = await freePort();
    const exposed = [`stats socket ${fixture.adminSocket} mode 600 level admin expose-fd listeners`];
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }], exposed));
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    await waitForPort(port);
    fixture.commit(haproxyConfig([{ port, servers: [beta().port] }]));
    const withSocket = await fixture.deploy(pidMode);
    expect(withSocket.code, withSocket.stderr).toBe(0);
    expect(withSocket.stderr).not.toContain(noExposeFd);
    expect(commandLineOf(fixture.pidFile)).toEqual(expect.arrayContaining(["-x", fixture.adminSocket]));

    // The running config now has no such line: every reload from here on says so.
    for (const server of [alpha(), beta()]) {
      fixture.commit(haproxyConfig([{ port, servers: [server.port] }]));
      const without = await fixture.deploy(pidMode);
      expect(without.code, without.stderr).toBe(0);
      expect(without.stderr).toContain(noExposeFd);
      expect(commandLineOf(fixture.pidFile)).not.toContain("-x");
      expect((await httpGet(port)).body).toMatch(new RegExp(`^${server.name} `));
    }
  });

  it("a socket that cannot hand the listeners over: reloads without -x and warns", async () => {
    const fixture = newFixture();
    const pidMode = ["--pid-file", fixture.pidFile];
    const port = await freePort();
    const exposed = [`stats socket ${fixture.adminSocket} mode 600 level admin expose-fd listeners`];
    fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }], exposed));
    expect((await fixture.deploy(pidMode)).code).toBe(0);
    await waitForPort(port);
    // Someone else's socket now sits at that path (as after a restart by hand): it hands nothing over.
    rmSync(fixture.adminSocket);
    const impostor = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => impostor.listen(fixture.adminSocket, r));
    try {
      fixture.commit(haproxyConfig([{ port, servers: [beta().port] }], exposed));
      const result = await fixture.deploy(pidMode);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(
        `HAProxy could not take the listeners over from ${fixture.adminSocket}`,
      );
      expect((await httpGet(port)).body).toMatch(/^beta /);
    } finally {
      impostor.close();
    }
  });
});
