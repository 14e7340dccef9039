import { describe, expect, it } from "vitest";
import { bindKey } from "../../../src/core/address.ts";
import { defaultRenderOptions, type RenderOptions, type Service } from "../../../src/core/model.ts";
import { resolveBindConflicts } from "../../../src/core/normalise/conflicts.ts";
import { service as serviceOn } from "../../helpers/models.ts";

/** A TCP service without servers bound on `bindAddress`:`bindPort`. */
const service = (appId: string, bindPort: number, bindAddress = "*", extra: Partial<Service> = {}) =>
  serviceOn(appId, bindPort, [], { bindAddress, ...extra });

function resolve(services: Service[], options: Partial<RenderOptions> = {}) {
  const dropped: string[] = [];
  const kept = resolveBindConflicts(services, { ...defaultRenderOptions, ...options }, (s, reason) =>
    dropped.push(`${s.appId}: ${reason}`),
  );
  return { kept: kept.map((s) => s.appId), dropped };
}

describe("conflicts pass", () => {
  it.each([
    ["same port, both wildcard", [service("/a", 10000), service("/b", 10000)], ["/a"]],
    [
      "wildcard against a specific address",
      [service("/a", 10000, "127.0.0.1"), service("/b", 10000)],
      ["/a"],
    ],
    ["0.0.0.0 is a wildcard", [service("/a", 10000, "127.0.0.1"), service("/b", 10000, "0.0.0.0")], ["/a"]],
    [
      "distinct addresses",
      [service("/a", 10000, "127.0.0.1"), service("/b", 10000, "127.0.0.2")],
      ["/a", "/b"],
    ],
    [
      "::1 and 0:0:0:0:0:0:0:1 are one socket",
      [service("/a", 10000, "::1"), service("/b", 10000, "0:0:0:0:0:0:0:1")],
      ["/a"],
    ],
    [
      "2001:db8::1 and 2001:DB8::1 are one socket",
      [service("/a", 10000, "2001:db8::1"), service("/b", 10000, "2001:DB8::1")],
      ["/a"],
    ],
    ["the stats port", [service("/a", 9090, "127.0.0.1")], []],
  ] as [string, Service[], string[]][])("%s", (_name, services, kept) => {
    expect(resolve(services).kept).toEqual(kept);
  });

  it("an incumbent keeps its port against a newcomer whose id sorts earlier", () => {
    const incumbents = new Map([[bindKey("*", 10000), "/zzz-incumbent"]]);
    const result = resolve([service("/aaa-newcomer", 10000), service("/zzz-incumbent", 10000)], {
      incumbents,
    });
    expect(result.kept).toEqual(["/zzz-incumbent"]);
    expect(result.dropped).toEqual([
      "/aaa-newcomer: *:10000 is already bound by app /zzz-incumbent port index 0, which holds it in the published config",
    ]);
  });

  it("incumbent bind keys are canonical: the owner of [::1]:10000 keeps 0:0:0:0:0:0:0:1:10000", () => {
    const incumbents = new Map([[bindKey("0:0:0:0:0:0:0:1", 10000), "/old"]]);
    const result = resolve([service("/a", 10000, "::1"), service("/old", 10000, "::1")], { incumbents });
    expect(result.kept).toEqual(["/old"]);
  });

  it("an incumbent that moved away does not hold its old port", () => {
    const incumbents = new Map([[bindKey("*", 10000), "/old"]]);
    const result = resolve([service("/new", 10000), service("/old", 10001)], { incumbents });
    expect(result.kept).toEqual(["/new", "/old"]);
  });

  it("the order of kept services stays (app id, port index)", () => {
    const incumbents = new Map([[bindKey("*", 10002), "/c"]]);
    expect(
      resolve([service("/a", 10000), service("/b", 10001), service("/c", 10002)], { incumbents }).kept,
    ).toEqual(["/a", "/b", "/c"]);
  });

  it("an app whose service port is the app-id port (9091) is refused while an http app needs that frontend; --app-id-port 0 frees it", () => {
    const http = service("/http", 10000, "*", { mode: "http" });
    const onAppIdPort = service("/tcp-9091", 9091);
    const withFrontend = resolve([http, onAppIdPort]);
    expect(withFrontend.kept).toEqual(["/http"]);
    expect(withFrontend.dropped).toEqual(["/tcp-9091: *:9091 is already bound by the app-id frontend"]);
    expect(resolve([http, onAppIdPort], { appIdPort: 0 }).kept).toEqual(["/http", "/tcp-9091"]);
    expect(resolve([onAppIdPort]).kept).toEqual(["/tcp-9091"]); // no http app: no app-id frontend
  });
});
