import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable, type RunningHaproxy, startHaproxy } from "../helpers/haproxy.ts";
import {
  type Backend,
  freePort,
  httpRequest,
  startNamedHttpServer,
  startNamedTcpServer,
  startRedirectingHttpServer,
  tcpRead,
} from "../helpers/net.ts";
import { writeHostCertificate } from "../helpers/tls.ts";
import { eventually } from "../helpers/wait.ts";

/** A free port no earlier call in this file returned (the OS may hand out a just-released port again). */
const taken = new Set<number>();
async function uniquePort(): Promise<number> {
  for (;;) {
    const candidate = await freePort();
    if (!taken.has(candidate)) {
      taken.add(candidate);
      return candidate;
    }
  }
}

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

/**
 * marathon-lb's access and HTTP labels through a real HAProxy with real traffic: one render of
 * apps that each carry one label, certificates made with openssl, requests from two loopback
 * addresses.
 */
describe.skipIf(!haproxyAvailable())("marathon-lb labels → HAProxy → traffic", () => {
  const backends: Record<string, Backend> = {};
  let haproxy: RunningHaproxy | undefined;
  const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-labels-"));
  const certs = join(dir, "certs");
  const config = join(dir, "haproxy.cfg");
  const port: Record<string, number> = {};
  let result: Awaited<ReturnType<typeof runMhc>>;
  let jsonOutput: Awaited<ReturnType<typeof runMhc>>;
  const hash = execFileSync("openssl", ["passwd", "-6", "s3cret"], { encoding: "utf8" }).trim();

  beforeAll(async () => {
    for (const name of [
      "auth",
      "plain",
      "secure",
      "a",
      "b",
      "sticky1",
      "sticky2",
      "allowed",
      "pp",
      "root",
      "tls",
    ]) {
      backends[name] = await startNamedHttpServer(name);
    }
    backends.tcp = await startNamedTcpServer("tcp");
    backends.rev = await startRedirectingHttpServer("/login");
    backends.checkOk = await startNamedHttpServer("check-ok");
    backends.checkedUp = await startNamedHttpServer("checked-up");
    backends.checkedDown = await startNamedHttpServer("checked-down");
    const names = [
      "http",
      "https",
      "appId",
      "stats",
      "auth",
      "plain",
      "sticky",
      "allowed",
      "tcp",
      "up",
      "tls",
      "down",
    ];
    for (const name of [...names, "upCheck", "downCheck", "rev"]) port[name] = await uniquePort();
    mkdirSync(certs);
    writeHostCertificate(certs, "a.example.com");
    writeHostCertificate(certs, "b.example.com");
    const b = (name: string) => [(backends[name] as Backend).port];
    const check = {
      protocol: "HTTP",
      path: "/",
      portIndex: 1,
      intervalSeconds: 1,
      timeoutSeconds: 1,
      maxConsecutiveFailures: 1,
    };
    const snapshot = snapshotOf(
      hostApp("/auth", [port.auth as number], [task({ ports: b("auth") })], {
        labels: { HAPROXY_0_VHOST: "auth.example.com", HAPROXY_0_AUTH: `Members only:alice:${hash}` },
      }),
      hostApp("/plain", [port.plain as number], [task({ ports: b("plain") })], {
        labels: { HAPROXY_0_MODE: "http", HAPROXY_0_AUTH: "realm:bob:pl@in!pw" },
      }),
      hostApp("/secure", [20001], [task({ ports: b("secure") })], {
        labels: {
          HAPROXY_0_VHOST: "a.example.com",
          HAPROXY_0_PATH: "/secure",
          HAPROXY_0_REDIRECT_TO_HTTPS: "true",
          HAPROXY_0_USE_HSTS: "true",
        },
      }),
      hostApp("/a", [20002], [task({ ports: b("a") })], { labels: { HAPROXY_0_VHOST: "a.example.com" } }),
      hostApp("/b", [20003], [task({ ports: b("b") })], { labels: { HAPROXY_0_VHOST: "b.example.com" } }),
      hostApp(
        "/sticky",
        [port.sticky as number],
        [task({ ports: b("sticky1") }), task({ ports: b("sticky2") })],
        {
          labels: { HAPROXY_0_MODE: "http", HAPROXY_0_STICKY: "true" },
        },
      ),
      hostApp("/allowed", [port.allowed as number], [task({ ports: b("allowed") })], {
        labels: { HAPROXY_0_MODE: "http", HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: "127.0.0.1/32 ::1" },
      }),
      hostApp("/tcp-allowed", [port.tcp as number], [task({ ports: b("tcp") })], {
        labels: { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: "127.0.0.1" },
      }),
      hostApp("/pp", [20004], [task({ ports: b("pp") })], {
        labels: {
          HAPROXY_0_VHOST: "pp.example.com",
          HAPROXY_0_PATH: "/api",
          HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: "/api",
          HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: "/api",
        },
      }),
      hostApp("/tls-port", [port.tls as number], [task({ ports: b("tls") })], {
        labels: {
          HAPROXY_0_MODE: "http",
          HAPROXY_0_SSL_CERT: join(certs, "b.example.com.pem"),
          HAPROXY_0_BIND_OPTIONS: "alpn http/1.1 ssl-min-ver TLSv1.2",
        },
      }),
      hostApp("/rev", [port.rev as number], [task({ ports: b("rev") })], {
        labels: { HAPROXY_0_MODE: "http", HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: "/api" },
      }),
      hostApp("/root", [20005], [task({ ports: b("root") })], {
        labels: { HAPROXY_0_VHOST: "root.example.com", HAPROXY_0_HTTP_BACKEND_REDIR: "/home" },
      }),
      // Port 0 is checked on the task's port of index 1: up where that answers, down where nothing listens.
      hostApp(
        "/checked-up",
        [port.up as number, port.upCheck as number],
        [task({ ports: [(backends.checkedUp as Backend).port, (backends.checkOk as Backend).port] })],
        {
          labels: { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1", HAPROXY_1_ENABLED: "false" },
          healthChecks: [check],
        },
      ),
      hostApp(
        "/checked-down",
        [port.down as number, port.downCheck as number],
        [task({ ports: [(backends.checkedDown as Backend).port, await uniquePort()] })],
        {
          labels: { HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: "1", HAPROXY_1_ENABLED: "false" },
          healthChecks: [check],
        },
      ),
    );
    const snapshotFile = join(dir, "apps.json");
    writeFileSync(snapshotFile, JSON.stringify(snapshot));
    const flags = [
      "--from",
      snapshotFile,
      "--http-port",
      String(port.http),
      "--https-port",
      String(port.https),
      "--ssl-certs",
      certs,
      "--app-id-port",
      String(port.appId),
      "--stats-port",
      String(port.stats),
    ];
    result = await runMhc(["render", ...flags, "-o", config]);
    jsonOutput = await runMhc(["render", ...flags, "--json"]);
    if (result.code === 0) haproxy = await startHaproxy(config, port.https as number);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it("renders every app, and mhc validate (haproxy -c) accepts the config", async () => {
    expect(result.stderr).not.toContain("skipped");
    expect(result.code).toBe(0);
    expect((await runMhc(["validate", config])).code).toBe(0);
  });

  it("AUTH: 401 without credentials, 200 with them (crypt-hashed password), on the vhost and on the service port", async () => {
    for (const via of [
      { port: port.http as number, headers: { host: "auth.example.com" } },
      { port: port.auth as number },
    ]) {
      const without = await httpRequest(via);
      expect(without.status).toBe(401);
      expect(without.headers["www-authenticate"]).toBe('Basic realm="Members only"');
      expect(
        (await httpRequest({ ...via, headers: { ...via.headers, ...basic("alice", "wrong") } })).status,
      ).toBe(401);
      const allowed = await httpRequest({ ...via, headers: { ...via.headers, ...basic("alice", "s3cret") } });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toMatch(/^auth /);
    }
  });

  it("AUTH: the X-Marathon-App-Id frontend asks for the same credentials", async () => {
    const headers = { "x-marathon-app-id": "/auth" };
    expect((await httpRequest({ port: port.appId as number, headers })).status).toBe(401);
    const allowed = await httpRequest({
      port: port.appId as number,
      headers: { ...headers, ...basic("alice", "s3cret") },
    });
    expect(allowed.body).toMatch(/^auth /);
  });

  it("AUTH with a plaintext password works, is warned about, and never printed", async () => {
    expect((await httpRequest({ port: port.plain as number })).status).toBe(401);
    expect(
      (await httpRequest({ port: port.plain as number, headers: basic("bob", "pl@in!pw") })).status,
    ).toBe(200);
    expect(result.stderr).toContain("HAPROXY_0_AUTH has a plaintext password");
    for (const output of [result.stderr, result.stdout, jsonOutput.stdout, jsonOutput.stderr]) {
      expect(output).not.toContain("pl@in!pw");
      expect(output).not.toContain(hash);
    }
    const model = JSON.parse(jsonOutput.stdout);
    const auth = model.services.find((s: { appId: string }) => s.appId === "/plain").auth;
    expect(auth).toEqual({ realm: "realm", user: "bob" });
  });

  it("REDIRECT_TO_HTTPS: 301 to https for the app's vhost and path; HSTS on the https answer", async () => {
    const plain = await httpRequest({
      port: port.http as number,
      path: "/secure/x?q=1",
      headers: { host: "a.example.com" },
    });
    expect(plain.status).toBe(301);
    expect(plain.headers.location).toBe("https://a.example.com/secure/x?q=1");
    // Other paths of the same vhost belong to another app and are not redirected.
    expect(
      (await httpRequest({ port: port.http as number, path: "/other", headers: { host: "a.example.com" } }))
        .body,
    ).toMatch(/^a /);
    const secure = await httpRequest({
      port: port.https as number,
      path: "/secure/x",
      headers: { host: "a.example.com" },
      tls: { servername: "a.example.com" },
    });
    expect(secure.status).toBe(200);
    expect(secure.body).toMatch(/^secure /);
    expect(secure.headers["strict-transport-security"]).toBe("max-age=15768000");
  });

  it("TLS: two certificates picked by SNI, each name routed to its vhost's backend", async () => {
    for (const name of ["a", "b"]) {
      const answer = await httpRequest({
        port: port.https as number,
        headers: { host: `${name}.example.com` },
        tls: { servername: `${name}.example.com` },
      });
      expect(answer.certificateName).toBe(`${name}.example.com`);
      expect(answer.body).toMatch(new RegExp(`^${name} `));
    }
  });

  it("SSL_CERT and BIND_OPTIONS: the service port itself speaks TLS with that certificate", async () => {
    const answer = await httpRequest({ port: port.tls as number, tls: { servername: "anything.example" } });
    expect(answer.certificateName).toBe("b.example.com");
    expect(answer.body).toMatch(/^tls /);
    await expect(httpRequest({ port: port.tls as number })).rejects.toThrow();
  });

  it("STICKY: the cookie keeps a client on one server", async () => {
    const first = await httpRequest({ port: port.sticky as number });
    const cookie = String(first.headers["set-cookie"]).split(";")[0] as string;
    expect(cookie).toMatch(/^mesosphere_server_id=[0-9a-f]{16}$/);
    const server = first.body.split(" ")[0];
    for (let i = 0; i < 6; i++) {
      expect(
        (await httpRequest({ port: port.sticky as number, headers: { cookie } })).body.split(" ")[0],
      ).toBe(server);
    }
    // Without the cookie, round robin reaches both servers.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add((await httpRequest({ port: port.sticky as number })).body.split(" ")[0] as string);
    expect([...seen].sort()).toEqual(["sticky1", "sticky2"]);
  });

  it("BACKEND_NETWORK_ALLOWED_ACL: another source address is refused (http 403, tcp closed)", async () => {
    expect((await httpRequest({ port: port.allowed as number, localAddress: "127.0.0.1" })).status).toBe(200);
    expect((await httpRequest({ port: port.allowed as number, localAddress: "127.0.0.2" })).status).toBe(403);
    expect((await tcpRead(port.tcp as number)).trim()).toBe("tcp");
    const { connect } = await import("node:net");
    const refused = await new Promise<string>((resolve, reject) => {
      let data = "";
      const socket = connect({ port: port.tcp as number, host: "127.0.0.1", localAddress: "127.0.0.2" });
      socket.on("data", (c) => {
        data += c;
      });
      socket.on("close", () => resolve(data));
      socket.on("error", reject);
    });
    expect(refused).toBe("");
  });

  it("X-Marathon-App-Id routes to the app's backend on the app-id port", async () => {
    for (const app of ["a", "b"]) {
      const answer = await httpRequest({
        port: port.appId as number,
        headers: { "x-marathon-app-id": `/${app}` },
      });
      expect(answer.body).toMatch(new RegExp(`^${app} `));
    }
    expect(
      (await httpRequest({ port: port.appId as number, headers: { "x-marathon-app-id": "/nope" } })).status,
    ).toBe(503);
  });

  it("HTTP_BACKEND_PROXYPASS_PATH strips the prefix and sets Host to the vhost", async () => {
    const answer = await httpRequest({
      port: port.http as number,
      path: "/api/users?id=1",
      headers: { host: "PP.example.com:8080" },
    });
    expect(answer.body).toBe("pp pp.example.com /users?id=1\n");
    expect(
      (await httpRequest({ port: port.http as number, path: "/api", headers: { host: "pp.example.com" } }))
        .body,
    ).toBe("pp pp.example.com /\n");
  });

  it("HTTP_BACKEND_REVPROXY_PATH prefixes the app's Location headers", async () => {
    const answer = await httpRequest({ port: port.rev as number, path: "/x" });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe("/api/login");
  });

  it("HTTP_BACKEND_REDIR sends / to the path; other paths reach the app", async () => {
    const root = await httpRequest({ port: port.http as number, headers: { host: "root.example.com" } });
    expect(root.status).toBe(301);
    expect(root.headers.location).toBe("/home");
    expect(
      (await httpRequest({ port: port.http as number, path: "/home", headers: { host: "root.example.com" } }))
        .body,
    ).toMatch(/^root /);
  });

  it("BACKEND_HEALTHCHECK_PORT_INDEX: servers are checked on the other port (down there: not served)", async () => {
    expect(readFileSync(config, "utf8")).toContain(
      `check inter 1s fall 1 port ${(backends.checkOk as Backend).port}`,
    );
    await eventually(
      async () => (await httpRequest({ port: port.down as number })).status === 503,
      "the server checked on a closed port to go down",
    );
    expect((await httpRequest({ port: port.up as number })).body).toMatch(/^checked-up /);
  });
});

describe.skipIf(!haproxyAvailable())("--group-https-by-vhost → HAProxy → traffic", () => {
  const backends: Backend[] = [];
  let haproxy: RunningHaproxy | undefined;
  const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-grouped-"));
  const certs = join(dir, "certs");
  const own = join(dir, "own");
  const config = join(dir, "haproxy.cfg");
  let httpsPort = 0;
  let result: Awaited<ReturnType<typeof runMhc>>;

  beforeAll(async () => {
    const [ga, gb] = [await startNamedHttpServer("ga"), await startNamedHttpServer("gb")];
    backends.push(ga, gb);
    mkdirSync(certs);
    mkdirSync(own);
    writeHostCertificate(certs, "default.example.com");
    writeHostCertificate(own, "ga.example.com");
    httpsPort = await uniquePort();
    const snapshotFile = join(dir, "apps.json");
    writeFileSync(
      snapshotFile,
      JSON.stringify(
        snapshotOf(
          hostApp("/ga", [await uniquePort()], [task({ ports: [ga.port] })], {
            labels: {
              HAPROXY_0_VHOST: "ga.example.com",
              HAPROXY_0_SSL_CERT: join(own, "ga.example.com.pem"),
              HAPROXY_0_BIND_OPTIONS: "alpn http/1.1",
            },
          }),
          hostApp("/gb", [await uniquePort()], [task({ ports: [gb.port] })], {
            labels: { HAPROXY_0_VHOST: "gb.example.com", HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: "127.0.0.1" },
          }),
        ),
      ),
    );
    result = await runMhc([
      "render",
      "--from",
      snapshotFile,
      "--http-port",
      String(await uniquePort()),
      "--https-port",
      String(httpsPort),
      "--ssl-certs",
      certs,
      "--group-https-by-vhost",
      "--app-id-port",
      "0",
      "--stats-port",
      "0",
      "-o",
      config,
    ]);
    if (result.code === 0) haproxy = await startHaproxy(config, httpsPort);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("each vhost gets its own TLS frontend: its app's SSL_CERT, else the --ssl-certs certificate", async () => {
    expect(result.code).toBe(0);
    const ga = await httpRequest({
      port: httpsPort,
      headers: { host: "ga.example.com" },
      tls: { servername: "ga.example.com" },
    });
    expect(ga.certificateName).toBe("ga.example.com");
    expect(ga.body).toMatch(/^ga /);
    const gb = await httpRequest({
      port: httpsPort,
      headers: { host: "gb.example.com" },
      tls: { servername: "gb.example.com" },
    });
    expect(gb.certificateName).toBe("default.example.com");
    expect(gb.body).toMatch(/^gb /);
  });

  it("the client's address survives the hop (the allow-list still refuses 127.0.0.2)", async () => {
    const refused = await httpRequest({
      port: httpsPort,
      headers: { host: "gb.example.com" },
      tls: { servername: "gb.example.com" },
      localAddress: "127.0.0.2",
    });
    expect(refused.status).toBe(403);
  });

  it("an unknown server name is not served", async () => {
    await expect(
      httpRequest({
        port: httpsPort,
        headers: { host: "x.example.com" },
        tls: { servername: "x.example.com" },
      }),
    ).rejects.toThrow();
  });

  it("--group-https-by-vhost without --ssl-certs is a usage error", async () => {
    const usage = await runMhc(["render", "--from", join(dir, "apps.json"), "--group-https-by-vhost"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--group-https-by-vhost needs --ssl-certs");
  });
});

describe.skipIf(!haproxyAvailable())(
  "templates from --templates DIR and from labels → HAProxy → traffic",
  () => {
    const backends: Backend[] = [];
    let haproxy: RunningHaproxy | undefined;
    const dir = mkdtempSync(join(tmpdir(), "mhc-e2e-templates-"));
    const templates = join(dir, "templates");
    const config = join(dir, "haproxy.cfg");
    const port = { folder: 0, label: 0 };
    let result: Awaited<ReturnType<typeof runMhc>>;
    let snapshotFile = "";

    beforeAll(async () => {
      const [folder, label] = [await startNamedHttpServer("folder"), await startNamedHttpServer("label")];
      backends.push(folder, label);
      port.folder = await uniquePort();
      port.label = await uniquePort();
      mkdirSync(templates);
      // As marathon-lb reads its templates folder: one file per template, named HAPROXY_<NAME>.
      writeFileSync(
        join(templates, "HAPROXY_BACKEND_HTTP_OPTIONS"),
        "  option forwardfor\n  http-response set-header X-Template folder-{backend}\n",
      );
      snapshotFile = join(dir, "apps.json");
      writeFileSync(
        snapshotFile,
        JSON.stringify(
          snapshotOf(
            hostApp("/folder", [port.folder], [task({ ports: [folder.port] })], {
              labels: { HAPROXY_0_MODE: "http" },
            }),
            hostApp("/label", [port.label], [task({ ports: [label.port] })], {
              labels: {
                HAPROXY_0_MODE: "http",
                HAPROXY_0_BACKEND_HTTP_OPTIONS: "  http-response set-header X-Template label-{appId}\n",
              },
            }),
          ),
        ),
      );
      result = await runMhc([
        "render",
        "--from",
        snapshotFile,
        "--templates",
        templates,
        "--app-id-port",
        "0",
        "--stats-port",
        "0",
        "-o",
        config,
      ]);
      if (result.code === 0) haproxy = await startHaproxy(config, port.label);
    });

    afterAll(async () => {
      await haproxy?.stop();
      await Promise.all(backends.map((b) => b.close()));
    });

    it("the folder's template applies to every app; a label's to its own port", async () => {
      expect(result.code).toBe(0);
      const folder = await httpRequest({ port: port.folder });
      expect(folder.headers["x-template"]).toBe(`folder-folder_${port.folder}`);
      expect(folder.body).toMatch(/^folder /);
      const label = await httpRequest({ port: port.label });
      expect(label.headers["x-template"]).toBe("label-/label");
    });

    it("HAPROXY_HEAD in the folder is the head; --head wins over it", async () => {
      const withHead = join(dir, "with-head");
      mkdirSync(withHead);
      writeFileSync(join(withHead, "HAPROXY_HEAD"), "global\n  # from the folder\ndefaults\n  mode tcp\n");
      const fromFolder = await runMhc(["render", "--from", snapshotFile, "--templates", withHead]);
      expect(fromFolder.stdout).toContain("# from the folder");
      const headFile = join(dir, "head.cfg");
      writeFileSync(headFile, "global\n  # from --head\ndefaults\n  mode tcp\n");
      const both = await runMhc([
        "render",
        "--from",
        snapshotFile,
        "--templates",
        withHead,
        "--head",
        headFile,
      ]);
      expect(both.stdout).toContain("# from --head");
      expect(both.stdout).not.toContain("# from the folder");
    });

    it("a --templates file with a variable its template does not have is a usage error naming the file", async () => {
      const bad = join(dir, "bad");
      mkdirSync(bad);
      writeFileSync(join(bad, "HAPROXY_BACKEND_HEAD"), "backend {backend}\n  balance {balanse}\n");
      const usage = await runMhc(["render", "--from", snapshotFile, "--templates", bad]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain(
        `--templates ${bad}: HAPROXY_BACKEND_HEAD uses {balanse}, which this template does not have`,
      );
    });
  },
);
