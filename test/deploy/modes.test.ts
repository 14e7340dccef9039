import { describe, expect, it } from "vitest";
import { showProc } from "../../src/haproxy/master-cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig, waitUntil } from "./fixture.ts";

async function answers(port: number, name: string): Promise<boolean> {
  return waitUntil(
    async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith(`${name} `),
    5_000,
  );
}

describe.skipIf(!haproxyAvailable())("reload strategies other than --pid-file", () => {
  const { alpha, beta, newFixture } = deploySuite();
  let fixture: DeployFixture;

  it("--master-socket starts a master-worker HAProxy, reloads it, and rolls back a config that cannot bind", async () => {
    fixture = newFixture();
    const mode = ["--master-socket", fixture.masterSocket];
    const [portA, portB] = [await freePort(), await freePort()];
    const v1 = haproxyConfig([{ port: portA, servers: [alpha().port] }]);
    fixture.commit(v1);
    const first = await fixture.deploy(mode);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("started HAProxy master");
    await waitForPort(portA);
    const master = (await showProc(fixture.masterSocket))?.masterPid;

    const v2 = haproxyConfig([
      { port: portA, servers: [alpha().port] },
      { port: portB, servers: [beta().port] },
    ]);
    fixture.commit(v2);
    const second = await fixture.deploy(mode);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`reloaded HAProxy master ${master}: new worker`);
    expect(await answers(portB, "beta")).toBe(true);
    expect(await answers(portA, "alpha")).toBe(true);

    // `haproxy -c` accepts it, but the port belongs to a backend: the master refuses the reload (a
    // host name, which the bind pre-flight leaves to HAProxy).
    fixture.commit(
      haproxyConfig([
        { port: portA, servers: [alpha().port] },
        { port: alpha().port, servers: [], host: "localhost" },
      ]),
    );
    const third = await fixture.deploy(mode);
    expect(third.code).toBe(12);
    expect(third.stderr).toContain("refused the new config");
    expect(third.stderr).toContain("restored the previous config and reloaded it");
    expect(fixture.installed()).toBe(v2);
    expect(await answers(portB, "beta")).toBe(true);
    expect(await answers(portA, "alpha")).toBe(true);
    expect((await showProc(fixture.masterSocket))?.masterPid).toBe(master);
  });

  it("--reload-cmd runs the command without a shell and rolls back when it fails", async () => {
    fixture = newFixture();
    const port = await freePort();
    // As under systemd: HAProxy already runs in master-worker mode on the installed config.
    const v1 = haproxyConfig([{ port, servers: [alpha().port] }]);
    const master = fixture.startMasterWorker(v1);
    await waitForPort(port);

    const v2 = haproxyConfig([{ port, servers: [beta().port] }]);
    fixture.commit(v2);
    const reloaded = await fixture.deploy(["--reload-cmd", `kill -USR2 '${master}'`]);
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(reloaded.stderr).toContain(`ran kill -USR2 ${master}`);
    expect(await answers(port, "beta")).toBe(true);

    fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }]));
    const failed = await fixture.deploy(["--reload-cmd", "false"]);
    expect(failed.code).toBe(12);
    expect(failed.stderr).toContain('reload command "false" exited with status 1');
    expect(failed.stderr).toContain("reloading it failed too");
    expect(fixture.installed()).toBe(v2);

    const missing = await fixture.deploy(["--reload-cmd", "/nonexistent/reload-haproxy now"]);
    expect(missing.code).toBe(12);
    expect(missing.stderr).toContain('reload command "/nonexistent/reload-haproxy now" was not found');
    expect(fixture.installed()).toBe(v2);
    expect(await answers(port, "beta")).toBe(true);
  });
});
