import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions, type Service } from "../../src/core/model.ts";
import { emptyModel, publishedModelOf } from "../../src/core/published.ts";
import { appPort, blameServices, quarantine } from "../../src/core/quarantine.ts";
import { render } from "../../src/core/render.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { modelOf, service } from "../helpers/models.ts";

/** An http service with one server: what the shared frontend routes to. */
const httpService = (appId: string, port: number, extra: Partial<Service> = {}) =>
  service(appId, port, ["127.0.0.1"], { mode: "http", ...extra });

/** `haproxy -c` on a config text, as sync runs it. */
function check(config: string) {
  const file = join(mkdtempSync(join(tmpdir(), "mhc-q-")), "haproxy.cfg");
  writeFileSync(file, config);
  const run = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
  return { file, valid: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

describe("blameServices", () => {
  const model = modelOf(
    httpService("/web", 10000, { vhosts: ["a.example.com"] }),
    httpService("/api", 10001),
  );
  const config = render(model, defaultRenderOptions);
  const lineOf = (text: string) => config.split("\n").indexOf(text) + 1;
  const alert = (at: number, said: string) =>
    `[ALERT]    (1) : config : parsing [/tmp/x/haproxy.cfg:${at}] : ${said}`;

  it.each([
    ["a backend line", alert(lineOf("  balance roundrobin"), "balance x"), ["web_10000"], undefined],
    ["a service frontend line", alert(lineOf("  bind *:10001"), "bad bind"), ["api_10001"], undefined],
    [
      "an acl of the shared http frontend",
      alert(lineOf("  acl host_web_10000 req.hdr(host),field(1,:) -i a.example.com"), "bad acl"),
      ["web_10000"],
      undefined,
    ],
    [
      "a proxy by name",
      "[ALERT]    (1) : config : Proxy 'api_10001': unable to find something.",
      ["api_10001"],
      undefined,
    ],
    [
      "the head",
      alert(2, "unknown keyword 'x' in 'global' section"),
      [],
      "unknown keyword 'x' in 'global' section",
    ],
    ["the stats listener", alert(lineOf("listen stats"), "bad stats"), [], "bad stats"],
    ["a message without a place", "[ALERT]    (1) : config : something odd", [], "something odd"],
  ])("%s", (_, output, services, fatal) => {
    const blame = blameServices(
      `${output}\n[ALERT]    (1) : config : Error(s) found in configuration file : /tmp/x/haproxy.cfg\n`,
      config,
      "/tmp/x/haproxy.cfg",
      model.services,
    );
    expect([...blame.services.keys()]).toEqual(services);
    expect(blame.fatal).toBe(fatal);
  });
});

describe.skipIf(!haproxyAvailable())("quarantine against real haproxy -c", () => {
  it("values only HAProxy knows are bad point at their services; without them the config is valid", () => {
    const bad = modelOf(
      httpService("/a", 10000),
      httpService("/b", 10001, { balance: "random(0)" }),
      httpService("/c", 10002, { balance: "uri len 0" }),
    );
    const config = render(bad, defaultRenderOptions);
    const result = check(config);
    expect(result.valid).toBe(false);
    const blame = blameServices(result.output, config, result.file, bad.services);
    expect(blame.fatal).toBeUndefined();
    expect(Object.fromEntries(blame.services)).toEqual({
      b_10001: "balance random : number of draws must be at least 1",
      c_10002: "balance uri : 'len' expects a positive integer (got '0')",
    });
    const blamed = new Map(
      bad.services.filter((s) => blame.services.has(s.name)).map((s) => [appPort(s), "x"]),
    );
    const published = publishedModelOf(modelOf(httpService("/b", 10001)));
    const { model: kept, quarantined } = quarantine(bad, blamed, published, () => true);
    expect(kept.services.map((s) => `${s.name} ${s.balance}`)).toEqual([
      "a_10000 roundrobin",
      "b_10001 roundrobin",
    ]);
    expect(kept.dropped).toEqual(quarantined);
    expect(quarantined).toEqual([
      {
        appId: "/b",
        portIndex: 0,
        reason: "quarantined, HAProxy rejected it: x; the published version is kept",
      },
      { appId: "/c", portIndex: 0, reason: "quarantined, HAProxy rejected it: x" },
    ]);
    expect(check(render(kept, defaultRenderOptions)).valid).toBe(true);
    const { model: without } = quarantine(bad, blamed, emptyModel, () => true);
    expect(without.services.map((s) => s.name)).toEqual(["a_10000"]);
  });
});
