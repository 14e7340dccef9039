import { describe, expect, it } from "vitest";
import { checkGates, checkReplacement } from "../../src/core/gates.ts";
import { emptyModel, type PublishedService, publishedModelOf } from "../../src/core/published.ts";
import { compareModels } from "../../src/core/summary.ts";
import { hosts, publishedModel, publishedService } from "../helpers/models.ts";

const service = (appId: string, port: number, servers: number) =>
  publishedService(appId, port, hosts(servers));
const model = (...services: PublishedService[]) => publishedModel(services);

describe("checkGates", () => {
  it.each([
    ["routine change", model(service("/web", 1, 4)), model(service("/web", 1, 3)), 1, []],
    ["first publish", emptyModel, model(service("/web", 1, 4)), 1, []],
    [
      "no apps from Marathon",
      model(service("/web", 1, 1)),
      emptyModel,
      0,
      ["no-apps:0 apps, 1 backend published", "max-drop:1 of 1 servers"],
    ],
    [
      "a backend left empty",
      model(service("/web", 1, 4), service("/api", 2, 4)),
      model(service("/web", 1, 4), service("/api", 2, 0)),
      2,
      ["empty-backend:1 backend"],
    ],
    [
      "more than --max-drop percent gone",
      model(service("/web", 1, 10)),
      model(service("/web", 1, 4)),
      1,
      ["max-drop:6 of 10 servers"],
    ],
    [
      "exactly --max-drop percent gone is allowed",
      model(service("/web", 1, 10)),
      model(service("/web", 1, 5)),
      1,
      [],
    ],
  ])("%s", (_, published, candidate, appsInSnapshot, expected) => {
    const verdicts = checkGates({
      published,
      changes: compareModels(published, candidate),
      appsInSnapshot,
      maxDropPercent: 50,
    });
    expect(verdicts.map((v) => `${v.gate}:${v.detail}`)).toEqual(expected);
  });

  it("says why in words", () => {
    const [verdict] = checkGates({
      published: model(service("/web", 1, 10)),
      changes: compareModels(model(service("/web", 1, 10)), model(service("/web", 1, 4))),
      appsInSnapshot: 1,
      maxDropPercent: 50,
    });
    expect(verdict?.reason).toBe("6 of 10 servers (60.0%) would disappear, more than --max-drop 50%");
  });
});

describe("checkGates, blue/green", () => {
  it("draining servers that go count neither as servers nor as removed; other servers that go do", () => {
    const drainingOld = (drained: number) => {
      const web = service("/web", 1, 10);
      return {
        ...web,
        servers: web.servers.map((s, i) => (i < drained ? { ...s, draining: true as const } : s)),
      };
    };
    const published = model(drainingOld(6), service("/api", 2, 2));
    const gates = (candidate: ReturnType<typeof model>) =>
      checkGates({
        published,
        changes: compareModels(published, candidate),
        appsInSnapshot: 2,
        maxDropPercent: 50,
      }).map((v) => `${v.gate}:${v.detail}`);
    const web = published.services[0] as PublishedService;
    // The 6 draining servers go: 0 of 6 serving servers lost.
    expect(gates(model({ ...web, servers: web.servers.slice(6) }, service("/api", 2, 2)))).toEqual([]);
    // The draining ones and 3 of the 6 serving ones go: 50% is allowed; one more is not.
    expect(gates(model({ ...web, servers: web.servers.slice(9) }, service("/api", 2, 2)))).toEqual([]);
    expect(gates(model({ ...web, servers: web.servers.slice(9) }, service("/api", 2, 1)))).toEqual([
      "max-drop:4 of 6 servers",
    ]);
  });
});

describe("checkReplacement (render -o over an existing file)", () => {
  it("reads the existing file with the documented reader", () => {
    const current = [
      "frontend web_10000",
      "  bind *:10000",
      "",
      "backend web_10000",
      "  description app /web service port 10000",
      "  server a 10.0.0.1:31000 check",
      "  server b 10.0.0.2:31000 check",
      "",
    ].join("\n");
    const empty = publishedModelOf({ services: [], excluded: [], dropped: [], warnings: [] });
    expect(checkReplacement(current, empty, 0, 50)?.gate).toBe("no-apps");
    expect(checkReplacement(current, empty, 3, 100)).toBeUndefined();
  });
});
