import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, waitForPort } from "../helpers/net.ts";
import { deploySuite, haproxyConfig } from "./fixture.ts";

/** `name{labels} value` → value, for the samples of one metrics file; every line must be valid text format. */
function parseMetrics(text: string): Map<string, { labels: string; value: number }> {
  const samples = new Map<string, { labels: string; value: number }>();
  for (const line of text.trimEnd().split("\n")) {
    if (/^# (HELP|TYPE) mhc_[a-z_]+ .+$/.test(line)) continue;
    const match = /^(mhc_[a-z_]+)\{(.*)\} (-?[0-9.e+]+)$/.exec(line);
    expect(match, line).not.toBeNull();
    if (match) samples.set(match[1] as string, { labels: match[2] as string, value: Number(match[3]) });
  }
  return samples;
}

describe.skipIf(!haproxyAvailable())("deploy --metrics-file", () => {
  const { alpha, beta, newFixture } = deploySuite();

  it("writes Prometheus text after every run: deployed commit, runtime applies, reloads, rollbacks, refusals, held and behind; --status --json carries the same figures", async () => {
    const fixture = newFixture();
    const metricsFile = join(fixture.dir, "metrics", "mhc_deploy.prom");
    mkdirSync(join(fixture.dir, "metrics"));
    const mode = ["--master-socket", fixture.masterSocket, "--metrics-file", metricsFile];
    const port = await freePort();
    const metrics = () => parseMetrics(readFileSync(metricsFile, "utf8"));
    const value = (name: string) => metrics().get(name)?.value;

    const first = fixture.commit(haproxyConfig([{ port, servers: [alpha().port] }]));
    const started = Date.now() / 1000;
    expect((await fixture.deploy(mode)).code).toBe(0);
    await waitForPort(port);
    expect(metrics().get("mhc_deploy_info")?.labels).toBe(
      `config="${fixture.config}",commit="${first}",applied="reload"`,
    );
    expect(value("mhc_deploy_reloads_total")).toBe(1);
    expect(value("mhc_deploy_runtime_applies_total")).toBe(0);
    expect(value("mhc_deploy_last_success_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(started));
    expect(value("mhc_deploy_last_failure_timestamp_seconds")).toBe(0);
    expect(value("mhc_deploy_behind_seconds")).toBe(0);

    fixture.commit(haproxyConfig([{ port, servers: [alpha().port, beta().port] }]));
    expect((await fixture.deploy(mode)).code).toBe(0);
    expect(value("mhc_deploy_runtime_applies_total")).toBe(1);
    expect(value("mhc_deploy_reloads_total")).toBe(1);

    // Passes haproxy -c, but the master cannot bind it: a rollback, a refused and held candidate.
    const held = fixture.commit(
      haproxyConfig([
        { port, servers: [alpha().port, beta().port] },
        { port: alpha().port, servers: [], host: "localhost" },
      ]),
    );
    expect((await fixture.deploy(mode)).code).toBe(12);
    expect((await fixture.deploy(mode)).code).toBe(12);
    expect(value("mhc_deploy_rollbacks_total")).toBe(1);
    expect(value("mhc_deploy_refused_total")).toBe(1);
    expect(value("mhc_deploy_held")).toBe(1);
    expect(value("mhc_deploy_last_failure_timestamp_seconds")).toBeGreaterThan(0);
    expect(value("mhc_deploy_behind_since_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(started));
    expect(metrics().get("mhc_deploy_info")?.labels).not.toContain(held);
    expect(readdirSync(join(fixture.dir, "metrics"))).toEqual(["mhc_deploy.prom"]);

    const status = JSON.parse((await fixture.deploy(mode, ["--status", "--json"])).stdout);
    expect(status.metrics).toMatchObject({
      applied: "runtime",
      runtimeApplies: 1,
      rollbacks: 1,
      refused: 1,
      held: true,
      lastFailureAt: expect.any(String),
    });
    expect(status.metrics.reloads).toBe(value("mhc_deploy_reloads_total"));
    expect(status.metrics.behindSeconds).toBeGreaterThanOrEqual(0);
  });
});
