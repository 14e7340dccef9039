import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { type DeployFigures, deployMetrics } from "../../src/deploy/metrics.ts";
import { recordSyncMetrics } from "../../src/sync/metrics.ts";
import { mhcCommand, repoRoot } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, httpGet, waitForPort } from "../helpers/net.ts";
import { type DeployFixture, deploySuite, git, haproxyConfig, waitUntil } from "./fixture.ts";

const systemdAnalyzeAvailable = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe.skipIf(!systemdAnalyzeAvailable)("examples/systemd units", () => {
  it("pass systemd-analyze verify (apart from the mhc binary not being installed here)", () => {
    const units = ["mhc-deploy.service", "mhc-deploy.timer", "mhc-deploy-watch.service"].map((u) =>
      join(repoRoot, "examples/systemd", u),
    );
    const result = spawnSync("systemd-analyze", ["verify", ...units], { encoding: "utf8" });
    const problems = `${result.stdout}${result.stderr}`
      .split("\n")
      .filter((line) => line.trim() && !line.includes("/usr/local/bin/mhc is not executable"));
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!haproxyAvailable())("examples/systemd/post-receive (git hook variant)", () => {
  const { alpha, beta, newFixture } = deploySuite();
  let fixture: DeployFixture;

  it("deploys when the deployed branch is pushed, and ignores other branches", async () => {
    fixture = newFixture();
    const port = await freePort();
    const v1 = haproxyConfig([{ port, servers: [alpha().port] }]);
    const master = fixture.startMasterWorker(v1);
    await waitForPort(port);

    const hook = join(fixture.remote, "hooks", "post-receive");
    copyFileSync(join(repoRoot, "examples/systemd/post-receive"), hook);
    const { cmd, args } = mhcCommand();
    const hookEnv = {
      ...process.env,
      MHC: [cmd, ...args].join(" "),
      MHC_CONFIG: fixture.config,
      MHC_RELOAD_CMD: `kill -USR2 ${master}`,
      XDG_CACHE_HOME: join(fixture.dir, "xdg"),
      NO_COLOR: "1",
    };
    const push = (branch: string) =>
      execFileSync("git", ["push", "--force", "origin", `HEAD:refs/heads/${branch}`], {
        cwd: fixture.clone,
        env: hookEnv,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });

    const v2 = haproxyConfig([{ port, servers: [beta().port] }]);
    mkdirSync(join(fixture.clone, "haproxy"));
    writeFileSync(join(fixture.clone, "haproxy", "haproxy.cfg"), v2);
    git(fixture.clone, "add", "-A");
    git(fixture.clone, "commit", "--quiet", "-m", "v2");
    push("feature");
    expect(fixture.installed()).toBe(v1);
    push("main");
    expect(fixture.installed()).toBe(v2);
    expect(
      await waitUntil(
        async () => (await httpGet(port).catch(() => ({ body: "" }))).body.startsWith("beta "),
        5_000,
      ),
    ).toBe(true);
    const status = JSON.parse((await fixture.deploy([], ["--status", "--json"])).stdout);
    expect(status.record.commit).toBe(git(fixture.clone, "rev-parse", "HEAD"));
  });
});

describe("examples/prometheus/mhc-alerts.yml", () => {
  it("alerts only on metrics mhc deploy and mhc sync write", async () => {
    const rules = readFileSync(join(repoRoot, "examples/prometheus/mhc-alerts.yml"), "utf8");
    const used = new Set(rules.match(/\bmhc_(deploy|sync)_[a-z_]+/g));
    const syncFile = join(mkdtempSync(join(tmpdir(), "mhc-alerts-")), "sync.prom");
    await recordSyncMetrics(syncFile, { changed: true, renderSeconds: 0 });
    const written = new Set([
      ...deployMetrics("/etc/haproxy/haproxy.cfg", {} as DeployFigures).map((m) => m.name),
      ...[...readFileSync(syncFile, "utf8").matchAll(/^# TYPE (mhc_[a-z_]+)/gm)].map((m) => m[1]),
    ]);
    expect([...used].filter((name) => !written.has(name))).toEqual([]);
    for (const alert of ["MhcHostBehindRemote", "MhcHostHoldsRefusedCandidate", "MhcSyncNotCommitting"]) {
      expect(rules).toContain(`alert: ${alert}`);
    }
  });
});
