import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bindKey, canonicalAddress } from "../../src/core/address.ts";
import {
  classifyLabel,
  labelTableMarkdown,
  migrationTableMarkdown,
  parseBalance,
  parseBindAddress,
  parsePaths,
  parseStartedAt,
} from "../../src/core/labels.ts";

describe("the label table", () => {
  it("README's label table is the label table (labels are declared once, in src/core/labels.ts)", () => {
    const lines = readFileSync("README.md", "utf8").split("\n");
    const start = lines.indexOf("| label | level | mhc | effect |");
    const end = lines.findIndex((line, i) => i > start && !line.startsWith("|"));
    expect(lines.slice(start, end).join("\n")).toBe(labelTableMarkdown());
  });

  it("README's Migrating from marathon-lb table lists every label of the label table", () => {
    const lines = readFileSync("README.md", "utf8").split("\n");
    const start = lines.indexOf("| label | supported | difference from marathon-lb |");
    const end = lines.findIndex((line, i) => i > start && !line.startsWith("|"));
    expect(start).toBeGreaterThan(0);
    expect(lines.slice(start, end).join("\n")).toBe(migrationTableMarkdown());
  });

  it.each([
    ["/a /b", { paths: ["/a", "/b"], ignoreCase: false }],
    ["-i /A /b", { paths: ["/A", "/b"], ignoreCase: true }],
  ])("PATH %j", (value, expected) => {
    expect(parsePaths(value)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["2016-02-01T14:13:42.499089", Date.UTC(2016, 1, 1, 14, 13, 42) + 499.089],
    ["2016-02-01T14:13:42Z", Date.UTC(2016, 1, 1, 14, 13, 42)],
    ["2016-02-01T16:13:42+02:00", Date.UTC(2016, 1, 1, 14, 13, 42)],
    ["2016-02-01 14:13", Date.UTC(2016, 1, 1, 14, 13)],
  ])("DEPLOYMENT_STARTED_AT %j (no zone: UTC, so the order never depends on the machine)", (value, ms) => {
    const parsed = parseStartedAt(value);
    expect(parsed.ok && Math.abs(parsed.value - ms) < 1e-6).toBe(true);
  });

  it.each([
    ["HAPROXY_GROUP", "app", "implemented"],
    ["HAPROXY_0_VHOST", "port", "implemented"],
    ["HAPROXY_12_BALANCE", "port", "implemented"],
    ["HAPROXY_DEPLOYMENT_GROUP", "app", "implemented"],
    ["HAPROXY_APP_ID", "app", "implemented"],
    ["HAPROXY_DEPLOYMENT_NEW_INSTANCES", "app", "implemented"],
    ["HAPROXY_0_STICKY", "port", "implemented"],
    ["HAPROXY_0_AUTH", "port", "implemented"],
    ["HAPROXY_1_REDIRECT_TO_HTTPS", "port", "implemented"],
    ["HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL", "port", "implemented"],
    ["HAPROXY_0_SSL_CERT", "port", "implemented"],
    ["HAPROXY_0_FRONTEND_HEAD", "port", "implemented"],
    ["HAPROXY_0_HTTP_FRONTEND_ACL_WITH_AUTH", "port", "refused"],
    ["HAPROXY_0_NO_SUCH_THING", "port", undefined],
    ["HAPROXY_WHATEVER", "app", undefined],
  ])("%s is a %s label, %s", (key, level, support) => {
    const label = classifyLabel(key);
    expect(label?.level).toBe(level);
    expect(label?.entry?.support).toBe(support);
  });

  it("labels without the HAPROXY_ prefix are not mhc's", () => {
    expect(classifyLabel("DCOS_SERVICE_NAME")).toBeUndefined();
  });
});

describe("values HAProxy 2.6 accepts", () => {
  it.each([
    ["roundrobin", true],
    ["random", true],
    ["random(1)", true],
    ["random(2147483647)", true],
    ["random(0)", false],
    ["random(2147483648)", false],
    ["uri", true],
    ["uri whole len 3 depth 2 path-only", true],
    ["uri len 0", false],
    ["uri depth 0", false],
    ["uri len 2147483648", false],
    ["uri len", false],
    ["url_param x check_post", true],
    ["hdr(host) use_domain_only", true],
    ["rdp-cookie(mstshash)", true],
    ["magic", false],
  ])("balance %j valid: %s", (value, valid) => {
    expect(parseBalance(value).ok).toBe(valid);
  });

  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["*", "*"],
    ["[::1]", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8::1", "2001:db8::1"],
  ])("bind address %j is %j", (value, canonical) => {
    expect(parseBindAddress(value)).toEqual({ ok: true, value: canonical });
  });

  it("a bind address with an IPv6 zone id is refused (HAProxy cannot bind it)", () => {
    expect(parseBindAddress("fe80::1%eth0")).toEqual({
      ok: false,
      reason: "has a zone id, which HAProxy cannot bind",
    });
  });

  it("bind keys are canonical", () => {
    expect(bindKey("0:0:0:0:0:0:0:1", 80)).toBe("::1:80");
    expect(bindKey("*", 10000)).toBe("*:10000");
    expect(bindKey("[2001:DB8::1]", 443)).toBe("2001:db8::1:443");
    expect(canonicalAddress("10.0.0.1")).toBe("10.0.0.1");
  });
});
