import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { mhcCommand, repoRoot } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, haproxyConfig } from "./fixture.ts";

/** `mhc deploy --pid-file` under an open-files limit of `limit`: the HAProxy it starts inherits it. */
function deployUnderLimit(fixture: DeployFixture, limit: number, extra: string[] = []) {
  const { cmd, args } = mhcCommand();
  const deploy = [
    "deploy",
    "--repo",
    fixture.remote,
    "--config",
    fixture.config,
    "--workdir",
    fixture.workdir,
  ];
  return spawnSync(
    "sh",
    [
      "-c",
      `ulimit -n ${limit} && exec "$0" "$@"`,
      cmd,
      ...args,
      ...deploy,
      "--pid-file",
      fixture.pidFile,
      ...extra,
    ],
    {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(fixture.dir, "xdg") },
    },
  );
}

describe.skipIf(!haproxyAvailable())("deploy checks the file descriptors HAProxy will need", () => {
  const { alpha, newFixture } = deploySuite();

  it("refuses a candidate that needs more file descriptors than the limit HAProxy would run under, naming both numbers and how to raise it", async () => {
    const fixture = newFixture();
    const port = await freePort();
    // 300 checked servers: 1 listener + 300 checks + 2 × 100 + 32 = 533 descriptors.
    const servers = Array.from({ length: 300 }, () => alpha().port);
    fixture.commit(haproxyConfig([{ port, servers }]).replace(/(server s\d+ \S+)/g, "$1 check inter 60s"));

    const low = deployUnderLimit(fixture, 400);
    expect(low.status, low.stderr).toBe(12);
    expect(low.stderr).toContain("needs 533 file descriptors but HAProxy may open only 400");
    expect(low.stderr).toContain("LimitNOFILE=533");
    expect(low.stderr).toContain("ulimit -n 533");
    expect(existsSync(fixture.config)).toBe(false);

    const enough = deployUnderLimit(fixture, 533, ["--retry-failed"]);
    expect(enough.status, enough.stderr).toBe(0);
    await waitForPort(port);
  });
});
