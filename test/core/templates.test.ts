import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { render } from "../../src/core/render.ts";
import { parseSnapshot, snapshotFromJson } from "../../src/core/snapshot.ts";
import {
  parseTemplate,
  parseTemplateFiles,
  parseTemplateLabel,
  templateDefinitions,
} from "../../src/core/templates.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";

const run = (json: unknown, options: Partial<RenderOptions> = {}) => {
  const opts = { ...defaultRenderOptions, ...options };
  const model = normalise(snapshotFromJson(json, "test"), opts);
  return { model, text: render(model, opts) };
};

const haproxyCheck = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "mhc-templates-")), "haproxy.cfg");
  writeFileSync(file, text);
  return execFileSync("haproxy", ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
};

describe("templates", () => {
  it("mhc's default templates, given as a --templates folder, render the golden files byte for byte", () => {
    const files = new Map(
      Object.entries(templateDefinitions).map(([name, d]) => [`HAPROXY_${name}`, d.value]),
    );
    const parsed = parseTemplateFiles(files);
    if (!parsed.ok) throw new Error(parsed.reason);
    for (const name of ["app", "marathon15-bridge-app", "group"]) {
      const snapshot = parseSnapshot(readFileSync(`fixtures/${name}.json`, "utf8"), name);
      const options = { ...defaultRenderOptions, templates: parsed.value.templates };
      expect(render(normalise(snapshot, options), options)).toBe(
        readFileSync(`test/core/golden/${name}.cfg`, "utf8"),
      );
    }
    // Draining blue/green servers and checks by port, through the templates too.
    for (const name of ["mlb-zdd_apps", "mlb-zdd_app_blue_marathon1.5"]) {
      const snapshot = parseSnapshot(readFileSync(`fixtures/${name}.json`, "utf8"), name);
      const withFolder = { ...defaultRenderOptions, templates: parsed.value.templates };
      const text = render(normalise(snapshot, withFolder), withFolder);
      expect(text).toBe(render(normalise(snapshot, defaultRenderOptions), defaultRenderOptions));
      if (name === "mlb-zdd_apps") expect(text).toContain(" disabled\n");
    }
  });

  it("a label overrides one template for one app's port; the other apps keep the default", () => {
    const { text, model } = run(
      snapshotOf(
        hostApp("/custom", [10000], [task({ host: "10.0.0.1", ports: [31000] })], {
          labels: {
            HAPROXY_0_BACKEND_HEAD:
              "backend {backend}\n  description custom {appId}\n  mode {mode}\n  balance {balance}\n  timeout server 5s\n",
            HAPROXY_0_BACKEND_SERVER_OPTIONS:
              "  server {serverName} {host_ipv4}:{port} {healthCheckOptions} weight 50",
          },
        }),
        hostApp("/plain", [10001], [task({ host: "10.0.0.2", ports: [31001] })]),
      ),
    );
    expect(model.dropped).toEqual([]);
    expect(text).toContain(
      "backend custom_10000\n  description custom /custom\n  mode tcp\n  balance roundrobin\n  timeout server 5s\n  server 10.0.0.1_31000 10.0.0.1:31000 check weight 50\n",
    );
    expect(text).toContain("backend plain_10001\n  description app /plain service port 10001\n");
    if (haproxyAvailable()) expect(haproxyCheck(text)).toContain("Configuration file is valid");
  });

  it.each([
    [
      "HAPROXY_0_BACKEND_HEAD",
      "backend {backend}\n  balance {nope}\n",
      "uses {nope}, which this template does not have",
    ],
    [
      "HAPROXY_0_BACKEND_HTTP_OPTIONS",
      "  option {forwardfor\n",
      'has a "{" that is not a {variable} (write {{ for a brace)',
    ],
    ["HAPROXY_0_BACKEND_HTTP_OPTIONS", "  x }\n", 'has a "}" without its "{" (write }} for a brace)'],
    [
      "HAPROXY_0_BACKEND_HTTP_OPTIONS",
      "  option forwardfor\nbackend other_10001\n  server evil 6.6.6.6:1\n",
      'opens a section ("backend"), which a label may not',
    ],
    ["HAPROXY_0_BACKEND_HTTP_OPTIONS", "    listen x\n", 'opens a section ("listen"), which a label may not'],
    [
      "HAPROXY_0_BACKEND_HEAD",
      "backend other\n  mode http\n",
      'must start with the line "backend {backend}"',
    ],
    ["HAPROXY_0_FRONTEND_HEAD", "  bind *:81\n", 'must start with the line "frontend {backend}"'],
    [
      "HAPROXY_0_FRONTEND_HEAD",
      "frontend {backend}\n  bind {bindAddr}:{servicePort}\n  bind *:10001 # evil\n",
      'binds "*:10001", not its own {bindAddr}:{servicePort}',
    ],
    [
      "HAPROXY_0_FRONTEND_HEAD",
      "frontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert},*:10001 # evil\n",
      'binds "{bindAddr}:{servicePort}{sslCert},*:10001", not its own {bindAddr}:{servicePort}',
    ],
    [
      "HAPROXY_0_FRONTEND_BACKEND_GLUE",
      "  default_backend other_10001 # evil\n",
      'sends traffic to "other_10001", not its own {backend}',
    ],
    [
      "HAPROXY_0_FRONTEND_HEAD",
      "frontend {backend}\n  bind {bindAddr}:{servicePort}\n  use_backend other_10001 if TRUE # evil\n",
      'sends traffic to "other_10001", not its own {backend}',
    ],
    [
      "HAPROXY_0_FRONTEND_HEAD",
      "frontend {backend}\n  bind {bindAddr}:{servicePort}1 # evil\n",
      'binds "{bindAddr}:{servicePort}1", not its own {bindAddr}:{servicePort}',
    ],
    [
      "HAPROXY_0_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS",
      "check\n  server evil 6.6.6.6:1",
      "contains a line break (it is part of one line)",
    ],
    [
      "HAPROXY_0_BACKEND_HTTP_OPTIONS",
      "  option\u00a0forwardfor\n",
      "contains non-ASCII characters (e.g. a no-break space)",
    ],
    ["HAPROXY_0_BACKEND_HTTP_OPTIONS", "{backend} x\n", "has a line starting with a {variable}"],
  ])("%s %j drops the port, the rest renders and passes haproxy -c", (name, value, reason) => {
    const { model, text } = run(
      snapshotOf(
        hostApp("/bad", [10000], [task()], { labels: { [name]: value, HAPROXY_0_MODE: "http" } }),
        hostApp("/other", [10001], [task()]),
      ),
    );
    expect(model.services.map((s) => s.appId)).toEqual(["/other"]);
    expect(model.dropped).toHaveLength(1);
    expect(model.dropped[0]?.reason.startsWith(`${name} "`)).toBe(true);
    expect(model.dropped[0]?.reason.endsWith(` ${reason}`)).toBe(true);
    expect(text).not.toContain("evil");
    if (haproxyAvailable()) expect(haproxyCheck(text)).toContain("Configuration file is valid");
  });

  it("variables hold validated values: a VHOST cannot add a line through {hostname}", () => {
    expect(
      parseTemplateLabel("BACKEND_HTTP_OPTIONS", "  http-request set-header X-Host {hostname}\n").ok,
    ).toBe(true);
    const { model } = run(
      snapshotOf(
        hostApp("/x", [10000], [task()], {
          labels: {
            HAPROXY_0_VHOST: "a.example.com\nbackend evil",
            HAPROXY_0_BACKEND_HTTP_OPTIONS: "  http-request set-header X-Host {hostname}\n",
          },
        }),
      ),
    );
    expect(model.services).toEqual([]);
    expect(model.dropped[0]?.reason).toContain("contains a line break");
  });

  it("label before folder before default", () => {
    const folder = parseTemplateFiles(
      new Map([["HAPROXY_BACKEND_HTTP_OPTIONS", "  option forwardfor\n  # folder\n"]]),
    );
    if (!folder.ok) throw new Error(folder.reason);
    const { text } = run(
      snapshotOf(
        hostApp("/label", [10000], [task()], {
          labels: { HAPROXY_0_MODE: "http", HAPROXY_0_BACKEND_HTTP_OPTIONS: "  # label\r\n" },
        }),
        hostApp("/folder", [10001], [task()], { labels: { HAPROXY_0_MODE: "http" } }),
      ),
      { templates: folder.value.templates },
    );
    expect(text).toContain("balance roundrobin\n  # label\n  server");
    expect(text).toContain("balance roundrobin\n  option forwardfor\n  # folder\n  server");
    expect(
      run(snapshotOf(hostApp("/d", [10002], [task()], { labels: { HAPROXY_0_MODE: "http" } }))).text,
    ).toContain("balance roundrobin\n  option forwardfor\n  server");
  });

  it("a one-line template loses its surrounding blanks (marathon-lb writes them); section text always ends its line", () => {
    const inline = parseTemplateLabel(
      "BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS",
      "  check inter {healthCheckIntervalSeconds}s fall {healthCheckFalls}\n",
    );
    expect(inline).toEqual({
      ok: true,
      value: {
        text: ["check inter ", "s fall ", ""],
        vars: ["healthCheckIntervalSeconds", "healthCheckFalls"],
      },
    });
    const files = parseTemplateFiles(
      new Map([
        ["HAPROXY_BACKEND_HTTP_OPTIONS", "  option forwardfor"],
        ["HAPROXY_BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS", "  check\n"],
      ]),
    );
    expect(files.ok && files.value.templates.BACKEND_HTTP_OPTIONS?.text).toEqual(["  option forwardfor\n"]);
    expect(files.ok && files.value.templates.BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS?.text).toEqual([
      "check",
    ]);
    expect(
      parseTemplateFiles(
        new Map([
          ["HAPROXY_BACKEND_SERVER_OPTIONS", "x"],
          ["HAPROXY_BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS", "check\n  server evil 6.6.6.6:1"],
        ]),
      ),
    ).toEqual({
      ok: false,
      reason:
        "HAPROXY_BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS has more than one line (it is part of a server line)",
    });
  });

  it("a template label for a port index the app does not have is warned about", () => {
    const { model } = run(
      snapshotOf(
        hostApp("/x", [10000], [task()], { labels: { HAPROXY_1_BACKEND_HEAD: "backend {backend}\n" } }),
      ),
    );
    expect(model.warnings).toEqual(["app /x: HAPROXY_1_BACKEND_HEAD ignored: the app has no port index 1"]);
  });

  it("literal braces are written {{ and }}", () => {
    const parsed = parseTemplate("if {{ ssl_fc }} {backend}", ["backend"]);
    expect(parsed).toEqual({ ok: true, value: { text: ["if { ssl_fc } ", ""], vars: ["backend"] } });
  });

  it("--templates files: an unsupported name or an unknown variable is refused, naming the file", () => {
    expect(parseTemplateFiles(new Map([["HAPROXY_HTTP_FRONTEND_ACL", "x"]]))).toEqual({
      ok: false,
      reason: "HAPROXY_HTTP_FRONTEND_ACL is not a template mhc supports",
    });
    expect(
      parseTemplateFiles(new Map([["HAPROXY_HTTP_FRONTEND_HEAD", "frontend x\n  bind {bindAddr}:{nope}\n"]])),
    ).toEqual({
      ok: false,
      reason: "HAPROXY_HTTP_FRONTEND_HEAD uses {nope}, which this template does not have",
    });
    const head = parseTemplateFiles(
      new Map([
        ["HAPROXY_HEAD", "global\n"],
        ["README", "not a template {"],
      ]),
    );
    expect(head).toEqual({ ok: true, value: { templates: {}, head: "global\n" } });
  });
});
