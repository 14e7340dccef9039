import { describe, expect, it } from "vitest";
import { generateSnapshot, isServingTask, moveTasks } from "../../scripts/bench/generate.ts";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { parseSnapshot } from "../../src/core/snapshot.ts";

const options = { apps: 200, tasksPerApp: 5, seed: 42 };
const text = JSON.stringify(generateSnapshot(options));
const model = normalise(parseSnapshot(text, "generated"), defaultRenderOptions);

describe("benchmark snapshot generator", () => {
  it("is deterministic: the same seed gives byte-identical JSON, another seed differs", () => {
    expect(JSON.stringify(generateSnapshot(options))).toBe(text);
    expect(JSON.stringify(generateSnapshot({ ...options, seed: 43 }))).not.toBe(text);
  });

  it("normalises cleanly with mhc's own normalise(): no warnings, every app exposed", () => {
    expect(model.warnings).toEqual([]);
    expect(new Set(model.services.map((s) => s.appId)).size).toBe(options.apps);
  });

  it("mixes networking modes: agent host ports, bridge host ports and IP-per-task container ports", () => {
    const addresses = model.services.flatMap((s) => s.servers.map((server) => server.host));
    expect(addresses.some((host) => host.startsWith("10."))).toBe(true);
    expect(addresses.some((host) => host.startsWith("9.0."))).toBe(true);
    const snapshot = JSON.parse(text) as { apps: { networks: { mode: string }[] }[] };
    const modes = new Set(snapshot.apps.map((app) => app.networks[0]?.mode));
    expect([...modes].sort()).toEqual(["container", "container/bridge", "host"]);
  });

  it("mixes HTTP and TCP services, health checks of both kinds, and vhosts", () => {
    expect(new Set(model.services.map((s) => s.mode))).toEqual(new Set(["http", "tcp"]));
    expect(new Set(model.services.map((s) => s.healthCheck?.kind))).toEqual(
      new Set(["http", "tcp", undefined]),
    );
    expect(model.services.some((s) => s.vhosts.length > 0)).toBe(true);
    expect(model.services.some((s) => s.servers.length === 0)).toBe(false);
  });

  it("includes staging, unreachable and unhealthy tasks that mhc leaves out", () => {
    const reasons = new Set(model.excluded.map((e) => e.reason));
    expect(reasons).toEqual(
      new Set(["state TASK_STAGING", "state TASK_UNREACHABLE", "Marathon health checks failing"]),
    );
  });

  it("moveTasks moves the asked share of serving tasks to new addresses, deterministically", () => {
    const snapshot = generateSnapshot(options);
    const serving = snapshot.apps.flatMap((app) => app.tasks).filter(isServingTask).length;
    const half = moveTasks(snapshot, { every: 2, seed: 1 });
    expect(JSON.stringify(moveTasks(snapshot, { every: 2, seed: 1 }))).toBe(JSON.stringify(half));
    const movedModel = normalise(parseSnapshot(JSON.stringify(half), "moved"), defaultRenderOptions);
    const servers = (m: typeof model) =>
      new Set(m.services.flatMap((s) => s.servers.map((server) => `${s.name} ${server.name}`)));
    const before = servers(model);
    const after = servers(movedModel);
    const gone = [...before].filter((s) => !after.has(s)).length;
    // Each moved task serves one or two ports, so at least half of the serving tasks left their address.
    expect(gone).toBeGreaterThanOrEqual(Math.floor(serving / 2));
    expect(after.size).toBe(before.size);
    const one = moveTasks(snapshot, { every: 1, limit: 1, seed: 1 });
    const oneModel = normalise(parseSnapshot(JSON.stringify(one), "one"), defaultRenderOptions);
    const afterOne = servers(oneModel);
    expect([...before].filter((s) => !afterOne.has(s)).length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(snapshot)).toBe(text);
  });
});
