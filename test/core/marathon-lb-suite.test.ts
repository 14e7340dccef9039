import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions, type Model, modelJson, type RenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { parseModelFile, publishedModelOf, serialiseModel, serviceOf } from "../../src/core/published.ts";
import { blameServices } from "../../src/core/quarantine.ts";
import { render } from "../../src/core/render.ts";
import { snapshotFromJson } from "../../src/core/snapshot.ts";
import { commitBody, commitSubject, compareModels } from "../../src/core/summary.ts";
import { parseTemplateFiles } from "../../src/core/templates.ts";
import { hostApp, marathonLbHealthCheck, snapshotOf, task } from "../helpers/apps.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { writeHostCertificate } from "../helpers/tls.ts";

/**
 * The behaviours of marathon-lb's tests/test_marathon_lb.py for auth, redirect, sticky, SSL,
 * health checks by port index and proxypass/revproxy/redir, asserted as mhc's routing and options
 * (not marathon-lb's text). Each case names the marathon-lb test it follows.
 */

const nginx = (labels: Record<string, string>, extra: Record<string, unknown> = {}) =>
  hostApp("/nginx", [10000], [task({ host: "1.1.1.1", ports: [1024] })], {
    labels: { HAPROXY_GROUP: "external", ...labels },
    healthChecks: [marathonLbHealthCheck],
    ...extra,
  });

const certDir = mkdtempSync(join(tmpdir(), "mhc-mlb-certs-"));
writeHostCertificate(certDir, "test.example.com");

const options = (extra: Partial<RenderOptions> = {}): RenderOptions => ({
  ...defaultRenderOptions,
  groups: ["external"],
  sslCerts: certDir,
  ...extra,
});

function run(
  apps: Record<string, unknown>[],
  extra: Partial<RenderOptions> = {},
): { model: Model; text: string } {
  const opts = options(extra);
  const model = normalise(snapshotFromJson(snapshotOf(...apps), "test"), opts);
  return { model, text: render(model, opts) };
}

/** The lines of one section (`frontend http_in`, `backend nginx_10000`), without indentation. */
function section(text: string, header: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(header);
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && line === "");
  return lines.slice(start + 1, end < 0 ? undefined : end).map((line) => line.trim());
}

const configs: [string, string][] = [];
const rendered = (name: string, apps: Record<string, unknown>[], extra: Partial<RenderOptions> = {}) => {
  const result = run(apps, extra);
  configs.push([name, result.text]);
  return result;
};

describe("marathon-lb's test suite, as mhc behaviours", () => {
  it("test_config_simple_app: an http app is reachable by X-Marathon-App-Id and checked with httpchk", () => {
    const { text } = rendered("simple", [nginx({})]);
    expect(section(text, "frontend app_id_in")).toEqual([
      "bind *:9091",
      "mode http",
      "option httplog",
      "acl app_nginx_10000 req.hdr(x-marathon-app-id) -i /nginx",
      "use_backend nginx_10000 if app_nginx_10000",
    ]);
    expect(section(text, "backend nginx_10000")).toContain("option httpchk GET /");
  });

  it("test_config_healthcheck_command: a COMMAND check keeps tcp mode, so no app-id route", () => {
    const { text } = rendered("command", [
      nginx({}, { healthChecks: [{ ...marathonLbHealthCheck, protocol: "COMMAND", portIndex: undefined }] }),
    ]);
    expect(text).not.toContain("frontend app_id_in");
    expect(section(text, "backend nginx_10000")).toContain("mode tcp");
  });

  it("test_config_env_template: HAPROXY_HTTP_FRONTEND_HEAD from the templates folder replaces the shared frontend's head", () => {
    const folder = parseTemplateFiles(
      new Map([
        [
          "HAPROXY_HTTP_FRONTEND_HEAD",
          "\nfrontend changed_frontend\n  bind {bindAddr}:{port}\n  mode http\n",
        ],
      ]),
    );
    if (!folder.ok) throw new Error(folder.reason);
    const { text } = rendered("env-template", [nginx({ HAPROXY_0_VHOST: "test.example.com" })], {
      templates: folder.value.templates,
    });
    expect(text).toContain(
      "\n\nfrontend changed_frontend\n  bind *:80\n  mode http\n  acl host_nginx_10000 ",
    );
    expect(text).not.toContain("frontend http_in");
  });

  it("test_config_simple_app_vhost: the vhost routes on :80 by Host and on :443 by SNI", () => {
    const { text } = rendered("vhost", [nginx({ HAPROXY_0_VHOST: "test.example.com" })]);
    expect(section(text, "frontend http_in")).toEqual(
      expect.arrayContaining([
        "acl host_nginx_10000 req.hdr(host),field(1,:) -i test.example.com",
        "use_backend nginx_10000 if host_nginx_10000",
      ]),
    );
    expect(section(text, "frontend https_in")).toEqual([
      `bind *:443 ssl crt ${certDir}`,
      "mode http",
      "option httplog",
      "acl host_nginx_10000 ssl_fc_sni -i test.example.com",
      "use_backend nginx_10000 if host_nginx_10000",
    ]);
  });

  it("test_config_simple_app_vhost_and_redirect: plain HTTP to the app is redirected to https with 301", () => {
    const { text } = rendered("redirect", [
      nginx({ HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_REDIRECT_TO_HTTPS: "true" }),
    ]);
    expect(section(text, "backend nginx_10000")).toContain(
      "http-request redirect scheme https code 301 unless { ssl_fc }",
    );
    expect(section(text, "frontend http_in")).toContain("use_backend nginx_10000 if host_nginx_10000");
  });

  it("test_config_simple_app_vhost_with_path_and_redirect: the redirect covers exactly the app's vhost + path", () => {
    const { text } = rendered("redirect-path", [
      nginx({
        HAPROXY_0_VHOST: "test.example.com",
        HAPROXY_0_PATH: "/some/path",
        HAPROXY_0_REDIRECT_TO_HTTPS: "true",
      }),
    ]);
    expect(section(text, "frontend http_in")).toContain(
      "use_backend nginx_10000 if host_nginx_10000 path_nginx_10000",
    );
    expect(section(text, "backend nginx_10000")).toContain(
      "http-request redirect scheme https code 301 unless { ssl_fc }",
    );
  });

  it("test_config_simple_app_vhost_with_auth: a userlist and basic auth with the realm", () => {
    const hash = "$6$salt$0123456789abcdefghijklmnopqrstuvwxyz";
    const { text } = rendered("auth", [
      nginx({ HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_AUTH: `realm:testuser:${hash}` }),
    ]);
    expect(section(text, "userlist user_nginx_10000")).toEqual([`user testuser password ${hash}`]);
    expect(section(text, "backend nginx_10000")).toContain(
      'http-request auth realm "realm" unless { http_auth(user_nginx_10000) }',
    );
  });

  it("test_config_simple_app_multiple_vhost_with_auth_and_redirect: redirect first, then auth, every vhost", () => {
    const { text } = rendered("auth-redirect", [
      nginx({
        HAPROXY_0_VHOST: "test.example.com,test",
        HAPROXY_0_AUTH: "realm:testuser:testpasswd",
        HAPROXY_0_REDIRECT_TO_HTTPS: "true",
      }),
    ]);
    const backend = section(text, "backend nginx_10000");
    const redirect = backend.indexOf("http-request redirect scheme https code 301 unless { ssl_fc }");
    const auth = backend.indexOf('http-request auth realm "realm" unless { http_auth(user_nginx_10000) }');
    expect(redirect).toBeGreaterThan(0);
    expect(auth).toBeGreaterThan(redirect);
    expect(section(text, "frontend http_in")).toContain(
      "acl host_nginx_10000 req.hdr(host),field(1,:) -i test.example.com test",
    );
    // marathon-lb writes a plaintext password as if it were a hash (it never matches); mhc serves it, with a warning.
    expect(section(text, "userlist user_nginx_10000")).toEqual([
      "user testuser insecure-password testpasswd",
    ]);
  });

  it("test_config_simple_app_sticky: a cookie inserted by HAProxy, one value per server", () => {
    const { text } = rendered("sticky", [
      hostApp(
        "/nginx",
        [10000],
        [task({ host: "1.1.1.1", ports: [1024] }), task({ host: "1.1.1.2", ports: [1024] })],
        {
          labels: { HAPROXY_GROUP: "external", HAPROXY_0_STICKY: "true", HAPROXY_0_MODE: "http" },
        },
      ),
    ]);
    const backend = section(text, "backend nginx_10000");
    expect(backend).toContain("cookie mesosphere_server_id insert indirect nocache");
    const cookies = backend.filter((l) => l.startsWith("server")).map((l) => /cookie (\S+)/.exec(l)?.[1]);
    expect(cookies).toHaveLength(2);
    expect(new Set(cookies).size).toBe(2);
  });

  it("test_config_simple_app_sticky in tcp mode: mhc warns and leaves the cookie out (HAProxy cannot set one)", () => {
    const { model, text } = rendered("sticky-tcp", [
      nginx({ HAPROXY_0_STICKY: "true" }, { healthChecks: [] }),
    ]);
    expect(text).not.toContain("cookie");
    expect(model.warnings).toEqual([
      "app /nginx port index 0: HAPROXY_0_STICKY ignored because MODE is tcp (needs http)",
    ]);
  });

  it("test_config_simple_app_healthcheck_port_using_another_portindex: checks go to port index 1's port", () => {
    const { text } = rendered("check-port-index", [
      hostApp("/nginx", [10000, 10001], [task({ host: "192.0.2.1", ports: [1024, 1025] })], {
        labels: { HAPROXY_GROUP: "external", HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1" },
        healthChecks: [marathonLbHealthCheck],
      }),
    ]);
    expect(section(text, "backend nginx_10000")).toContain(
      "server 192.0.2.1_1024 192.0.2.1:1024 check inter 2s fall 10 port 1025",
    );
    expect(section(text, "backend nginx_10001")).toContain("server 192.0.2.1_1025 192.0.2.1:1025 check");
  });

  it("test_config_simple_app_healthcheck_port_portindex_out_of_range: ignored with a warning", () => {
    const { model, text } = rendered("check-port-index-out", [
      hostApp("/nginx", [10000, 10001], [task({ host: "192.0.2.1", ports: [1024, 1025] })], {
        labels: { HAPROXY_GROUP: "external", HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "3" },
        healthChecks: [marathonLbHealthCheck],
      }),
    ]);
    expect(section(text, "backend nginx_10000")).toContain(
      "server 192.0.2.1_1024 192.0.2.1:1024 check inter 2s fall 10",
    );
    expect(model.warnings).toContain(
      "app /nginx: HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX ignored: the app has no port index 3",
    );
  });

  it("a port without its own health check uses the check of BACKEND_HEALTHCHECK_PORT_INDEX (and its http mode)", () => {
    const { model } = rendered("check-borrowed", [
      hostApp("/nginx", [10000, 10001], [task({ host: "192.0.2.1", ports: [1024, 1025] })], {
        labels: { HAPROXY_GROUP: "external", HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1" },
        healthChecks: [{ ...marathonLbHealthCheck, portIndex: 1 }],
      }),
    ]);
    expect(model.services[0]?.mode).toBe("http");
    expect(model.services[0]?.servers[0]?.checkPort).toBe(1025);
  });

  it("test_config_simple_app_proxypass: strip the path prefix and set Host to the vhost", () => {
    const { text } = rendered("proxypass", [
      nginx({ HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: "/test/" }),
    ]);
    expect(section(text, "backend nginx_10000")).toEqual(
      expect.arrayContaining([
        "http-request set-header Host test.example.com",
        "http-request replace-path ^/test(/|$)(.*) /\\2",
      ]),
    );
  });

  it("test_config_simple_app_revproxy: Location headers on the vhost are put under the path", () => {
    const { text } = rendered("revproxy", [
      nginx({ HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: "/test" }),
    ]);
    expect(section(text, "backend nginx_10000")).toContain(
      "http-response replace-header Location ^(https?://test[.]example[.]com(:[0-9]+)?)?(/.*) /test\\3",
    );
  });

  it("test_config_simple_app_redirect: / is redirected to the path with 301", () => {
    const { text } = rendered("redir", [
      nginx({ HAPROXY_0_VHOST: "test.example.com", HAPROXY_0_HTTP_BACKEND_REDIR: "/test" }),
    ]);
    expect(section(text, "backend nginx_10000")).toContain(
      "http-request redirect location /test code 301 if { path / }",
    );
  });

  it("test_group_https_by_vhost: the HTTPS port routes by SNI in tcp mode to one TLS frontend per vhost", () => {
    const { text } = rendered(
      "grouped",
      [
        nginx({
          HAPROXY_0_VHOST: "test.example.com,*.test.example.com",
          HAPROXY_0_BIND_OPTIONS: "alpn http/1.1",
        }),
      ],
      { groupHttpsByVhost: true },
    );
    const router = section(text, "frontend https_in");
    expect(router.slice(0, 2)).toEqual(["bind *:443", "mode tcp"]);
    expect(router.slice(-2)).toEqual([
      "use_backend https_test.example.com if { req_ssl_sni -i test.example.com }",
      "use_backend https__.test.example.com if { req_ssl_sni -i -m end .test.example.com }",
    ]);
    const tls = section(text, "frontend https_test.example.com");
    expect(tls[0]).toMatch(
      new RegExp(`^bind abns@mhc-[0-9a-f]{16} accept-proxy ssl crt ${certDir} alpn http/1.1$`),
    );
    expect(tls).toContain("use_backend nginx_10000");
  });

  it("test_config_no_apps with certificates: no HTTPS frontend without an app to route (marathon-lb emits an empty one)", () => {
    const { text } = rendered("no-apps", []);
    expect(text).not.toContain("frontend");
  });

  it("SSL_CERT and BIND_OPTIONS go on the app's own bind", () => {
    const cert = join(certDir, "test.example.com.pem");
    const { text } = rendered("ssl-cert", [
      nginx({ HAPROXY_0_SSL_CERT: cert, HAPROXY_0_BIND_OPTIONS: "alpn h2,http/1.1" }),
    ]);
    expect(section(text, "frontend nginx_10000")[0]).toBe(`bind *:10000 ssl crt ${cert} alpn h2,http/1.1`);
  });

  it.each([
    ["HAPROXY_0_BIND_OPTIONS", "ssl crt /x.pem foo", 'has "foo", which is not a bind option mhc knows'],
    ["HAPROXY_0_SSL_CERT", "../x.pem", "is not an absolute path of letters, digits, . _ / -"],
    [
      "HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL",
      "10.0.0.0/33",
      'has "10.0.0.0/33", which is not an IP address or network',
    ],
    ["HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH", "/a b", "is not a path of letters, digits, . _ ~ / -"],
    ["HAPROXY_0_HTTP_BACKEND_REDIR", "/x\nbackend evil", "contains a line break"],
  ])("%s %j drops the port (nothing can reach the config text)", (name, value, reason) => {
    const { model } = run([nginx({ [name]: value })]);
    expect(model.services).toEqual([]);
    expect(model.dropped).toEqual([
      { appId: "/nginx", portIndex: 0, reason: `${name} ${JSON.stringify(value)} ${reason}` },
    ]);
  });

  it("the published model file renders every label's config again, byte for byte (quarantine keeps a service's published version)", () => {
    const { model, text } = run([
      hostApp("/nginx", [10000, 10001], [task({ host: "1.1.1.1", ports: [1024, 1025] })], {
        labels: {
          HAPROXY_GROUP: "external",
          HAPROXY_0_VHOST: "test.example.com",
          HAPROXY_0_AUTH: "realm:u:$6$salt$hash",
          HAPROXY_0_STICKY: "true",
          HAPROXY_0_REDIRECT_TO_HTTPS: "true",
          HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1",
          HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: "10.0.0.0/8",
          HAPROXY_0_BACKEND_HTTP_OPTIONS: "  option forwardfor\n  # custom\n",
        },
        healthChecks: [marathonLbHealthCheck],
      }),
    ]);
    const published = parseModelFile(serialiseModel(publishedModelOf(model)));
    const again = { ...model, services: (published?.services ?? []).map(serviceOf) };
    expect(render(again, options())).toBe(text);
  });

  it("--json: the label fields are null or false when unset, auth without its password, checkPort null", () => {
    const plain = modelJson(run([nginx({})]).model).services[0];
    expect(plain).toMatchObject({
      auth: null,
      redirectToHttps: false,
      hsts: false,
      sticky: false,
      allowedSources: null,
      proxyPassPath: null,
      revProxyPath: null,
      rootRedirect: null,
      sslCert: null,
      bindOptions: null,
    });
    expect(plain?.servers[0]?.checkPort).toBeNull();
    const guarded = modelJson(run([nginx({ HAPROXY_0_AUTH: "r:u:$6$salt$secrethash" })]).model);
    expect(guarded.services[0]?.auth).toEqual({ realm: "r", user: "u" });
    expect(JSON.stringify(guarded)).not.toContain("secrethash");
  });

  it("a commit message names access changes (auth, allow-list, redirect) without the password", () => {
    const before = publishedModelOf(run([nginx({ HAPROXY_0_VHOST: "test.example.com" })]).model);
    const after = publishedModelOf(
      run([
        nginx({
          HAPROXY_0_VHOST: "test.example.com",
          HAPROXY_0_AUTH: "Staff:alice:$6$salt$secrethash",
          HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: "10.0.0.0/8",
          HAPROXY_0_REDIRECT_TO_HTTPS: "true",
        }),
      ]).model,
    );
    const changes = compareModels(before, after);
    const message = `${commitSubject(changes)}\n\n${commitBody({ changes })}`;
    expect(message).toContain('auth none → user alice realm "Staff"');
    expect(message).toContain("allowed sources any → 10.0.0.0/8");
    expect(message).toContain("redirect to https off → on");
    expect(message).not.toContain("secrethash");
  });

  it("HAProxy's complaint about a line of the HTTPS or app-id frontend is blamed on the service it names", () => {
    const { model, text } = run([nginx({ HAPROXY_0_VHOST: "test.example.com" })]);
    const lines = text.split("\n");
    for (const line of [
      "  acl host_nginx_10000 ssl_fc_sni -i test.example.com",
      "  acl app_nginx_10000 req.hdr(x-marathon-app-id) -i /nginx",
    ]) {
      const at = lines.indexOf(line) + 1;
      expect(at).toBeGreaterThan(0);
      const output = `[ALERT]    (1) : config : parsing [/tmp/x/haproxy.cfg:${at}] : bad acl`;
      const blame = blameServices(output, text, "/tmp/x/haproxy.cfg", model.services);
      expect([...blame.services.keys()]).toEqual(["nginx_10000"]);
    }
  });

  it.skipIf(!haproxyAvailable())("every config above passes haproxy -c", () => {
    const dir = mkdtempSync(join(tmpdir(), "mhc-mlb-"));
    for (const [name, text] of configs) {
      const file = join(dir, `${name}.cfg`);
      writeFileSync(file, text);
      execFileSync("haproxy", ["-c", "-q", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
    }
    expect(configs.length).toBeGreaterThan(15);
  });
});
