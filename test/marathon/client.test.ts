import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { createGzip, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ExitCode, MhcError } from "../../src/errors.ts";
import { parseEndpoint } from "../../src/marathon/address.ts";
import { fetchSnapshot } from "../../src/marathon/client.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { json, marathonsClosedAfterEach } from "../helpers/marathon.ts";
import { freePort } from "../helpers/net.ts";
import { makeCertificates } from "../helpers/tls.ts";

const body = snapshotOf(hostApp("/web", [10000], [task({ ports: [4000] })]));
const fast = { timeoutMs: 2_000, retries: 2, backoffMs: 20, maxResponseBytes: 2 ** 30 };
const marathon = marathonsClosedAfterEach();

async function failure(promise: Promise<unknown>): Promise<MhcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MhcError);
  return error as MhcError;
}

describe("Marathon client against a local server", () => {
  it("reads /v2/apps?embed=apps.tasks and parses it", async () => {
    const m = await marathon(() => json(body));
    const result = await fetchSnapshot([parseEndpoint(`127.0.0.1:${m.port}`, {})], fast);
    expect(result.snapshot.apps.map((a) => a.id)).toEqual(["/web"]);
    expect(result.source).toBe(m.url);
    expect(m.requests[0]?.path).toBe("/v2/apps?embed=apps.tasks");
    expect(m.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("fails over to the next address when the first refuses connections", async () => {
    const dead = await freePort();
    const m = await marathon(() => json(body));
    const result = await fetchSnapshot(
      [parseEndpoint(`http://127.0.0.1:${dead}`, {}), parseEndpoint(m.url, {})],
      fast,
    );
    expect(result.source).toBe(m.url);
  });

  it("keeps a path prefix (e.g. behind DC/OS admin router)", async () => {
    const m = await marathon(() => json(body));
    await fetchSnapshot([parseEndpoint(`${m.url}/service/marathon/`, {})], fast);
    expect(m.requests[0]?.path).toBe("/service/marathon/v2/apps?embed=apps.tasks");
  });

  it("sends basic auth from --auth, and from user:pass@ in the URL", async () => {
    const m = await marathon(() => json(body));
    await fetchSnapshot([parseEndpoint(m.url, { basic: "alice:s3cret" })], fast);
    await fetchSnapshot([parseEndpoint(m.url.replace("http://", "http://bob:pa%40ss@"), {})], fast);
    expect(m.requests.map((r) => r.headers.authorization)).toEqual([
      `Basic ${btoa("alice:s3cret")}`,
      `Basic ${btoa("bob:pa@ss")}`,
    ]);
  });

  it("sends a DC/OS token as Authorization: token=…", async () => {
    const m = await marathon(() => json(body));
    await fetchSnapshot([parseEndpoint(m.url, { token: "eyJtoken" })], fast);
    expect(m.requests[0]?.headers.authorization).toBe("token=eyJtoken");
  });

  it("retries 503 (leader election) and succeeds", async () => {
    let calls = 0;
    const m = await marathon(() => (++calls < 3 ? { status: 503, body: "no leader" } : json(body)));
    const result = await fetchSnapshot([parseEndpoint(m.url, {})], fast);
    expect(result.snapshot.apps).toHaveLength(1);
    expect(m.requests).toHaveLength(3);
  });

  it("gives up after bounded retries with every address and reason in one line", async () => {
    const m = await marathon(() => ({ status: 502, body: "" }));
    const dead = await freePort();
    const error = await failure(
      fetchSnapshot([parseEndpoint(m.url, {}), parseEndpoint(`127.0.0.1:${dead}`, {})], {
        ...fast,
        retries: 1,
      }),
    );
    expect(error.exitCode).toBe(ExitCode.marathonUnreachable);
    expect(error.message).toContain(`${m.url} (HTTP 502`);
    expect(error.message).toContain(`http://127.0.0.1:${dead} (`);
    expect(error.message).not.toContain("\n");
    expect(m.requests).toHaveLength(2);
  });

  it("times out a Marathon that accepts but never answers", async () => {
    const m = await marathon(() => ({ ...json(body), delayMs: 1_500 }));
    const error = await failure(
      fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, timeoutMs: 200, retries: 0 }),
    );
    expect(error.exitCode).toBe(ExitCode.marathonUnreachable);
    expect(error.message).toContain("no answer within 0.2 s");
  });

  it("401 stops at once with an auth error and never echoes the credentials", async () => {
    const m = await marathon(() => ({ status: 401, body: "{}" }));
    const error = await failure(fetchSnapshot([parseEndpoint(m.url, { basic: "alice:topsecret" })], fast));
    expect(error.exitCode).toBe(ExitCode.marathonAuth);
    expect(error.message).toContain("refused the credentials (HTTP 401)");
    expect(error.message).not.toContain("topsecret");
    expect(m.requests).toHaveLength(1);
  });

  it("garbage, truncated and foreign JSON are data errors", async () => {
    const m = await marathon(() => ({ body: "<html>proxy error</html>" }));
    const endpoint = [parseEndpoint(m.url, {})];
    expect((await failure(fetchSnapshot(endpoint, fast))).exitCode).toBe(ExitCode.marathonData);
    m.reply(() => ({ body: '{"apps": [{"id": "/a", "tasks": [' }));
    const truncated = await failure(fetchSnapshot(endpoint, fast));
    expect(truncated.exitCode).toBe(ExitCode.marathonData);
    expect(truncated.message).toContain("not valid JSON");
    m.reply(() => json({ message: "hello" }));
    expect((await failure(fetchSnapshot(endpoint, fast))).message).toContain("not a Marathon response");
  });

  it("a connection cut mid-body is retried, then reported as unreachable", async () => {
    const m = await marathon(() => ({ body: JSON.stringify(body), truncateAt: 10 }));
    const error = await failure(fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, retries: 1 }));
    expect(error.exitCode).toBe(ExitCode.marathonUnreachable);
    expect(m.requests).toHaveLength(2);
  });
});

describe("Marathon answers that must not take mhc down", () => {
  it("refuses an answer larger than --max-response, with bounded memory", async () => {
    const m = await marathon(() => ({ body: " ".repeat(300_000) + JSON.stringify(body) }));
    const error = await failure(
      fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, retries: 0, maxResponseBytes: 256 * 1024 }),
    );
    expect(error.exitCode).toBe(ExitCode.marathonData);
    expect(error.message).toContain("answered more than 256 KiB; raise --max-response");
  });

  it("a gzip bomb stops at --max-response: clear error, memory bounded", async () => {
    // 256 MiB of zeros compress to about 256 KiB; unbounded, reading it would hold 256 MiB.
    const bomb = await new Promise<Buffer>((resolve) => {
      const gzip = createGzip({ level: 1 });
      const out: Buffer[] = [];
      gzip.on("data", (c: Buffer) => out.push(c));
      gzip.on("end", () => resolve(Buffer.concat(out)));
      const zeros = Buffer.alloc(1 << 20);
      for (let i = 0; i < 256; i++) gzip.write(zeros);
      gzip.end();
    });
    const m = await marathon(() => ({ body: bomb, headers: { "content-encoding": "gzip" } }));
    const before = process.memoryUsage().rss;
    const error = await failure(
      fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, retries: 0, maxResponseBytes: 8 * 2 ** 20 }),
    );
    expect(error.exitCode).toBe(ExitCode.marathonData);
    expect(error.message).toContain("answered more than 8 MiB");
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 2 ** 20);
  });

  it("decodes UTF-8 characters split between the chunks of an answer", async () => {
    // Gunzip hands the body on in 16 KiB chunks; an odd-length prefix puts two-byte characters across each cut.
    const note = "é".repeat(40_000);
    const text = JSON.stringify({ apps: [{ id: "/web", labels: { pad: "xy", note } }] });
    const m = await marathon(() => ({ body: gzipSync(text), headers: { "content-encoding": "gzip" } }));
    const result = await fetchSnapshot(
      [parseEndpoint(m.url, {})],
      { ...fast, retries: 0 },
      { keepBody: true },
    );
    expect(result.body).toBe(text);
    expect(result.snapshot.apps[0]?.labels?.note).toBe(note);
    // Parsed as it arrives, the text is not kept unless asked for.
    const streamed = await fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, retries: 0 });
    expect(streamed.body).toBeUndefined();
    expect(streamed.snapshot).toEqual(result.snapshot);
  });

  it("a corrupt gzip answer is a one-line mhc error (exit 5)", async () => {
    const m = await marathon(() => ({
      body: Buffer.from("garbage, not gzip"),
      headers: { "content-encoding": "gzip" },
    }));
    const error = await failure(fetchSnapshot([parseEndpoint(m.url, {})], { ...fast, retries: 0 }));
    expect(error.exitCode).toBe(ExitCode.marathonData);
    expect(error.message).toMatch(/^no usable answer from Marathon: .* \(corrupt gzip answer \(/);
  });

  it("a corrupt gzip answer through the CLI: exit 5 and mhc's one error line, no runtime text", async () => {
    const m = await marathon(() => ({
      body: Buffer.from("garbage, not gzip"),
      headers: { "content-encoding": "gzip" },
    }));
    const result = await runMhc(["render", m.url, "--retries", "0"]);
    expect(result.code).toBe(ExitCode.marathonData);
    expect(result.stderr).toMatch(
      /^mhc: error: no usable answer from Marathon: [^\n]*corrupt gzip answer[^\n]*\n$/,
    );
  });

  it("--max-response through the CLI: a bigger answer is exit 5, a usage error names the flag", async () => {
    const m = await marathon(() => json(body));
    const small = await runMhc(["render", m.url, "--max-response", "100b"]);
    expect(small.code).toBe(ExitCode.marathonData);
    expect(small.stderr).toContain("answered more than 100 bytes; raise --max-response");
    const bad = await runMhc(["render", m.url, "--max-response", "lots"]);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.stderr).toContain('--max-response must be a size such as 64m or 1g, not "lots"');
  });

  it("--timeout bounds the body too: a Marathon that stalls mid-answer is cut (exit 3)", async () => {
    const m = await marathon(() => ({ body: JSON.stringify(body), stallAt: 10 }));
    const started = Date.now();
    const result = await runMhc(["render", m.url, "--timeout", "0.5", "--retries", "0"]);
    expect(result.code, result.stderr).toBe(ExitCode.marathonUnreachable);
    expect(result.stderr).toContain("(no answer within 0.5 s)");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a garbage or truncated 200 from the first address tries the next address", async () => {
    const good = await marathon(() => json(body));
    for (const bad of [{ body: "<html>proxy error</html>" }, { body: '{"apps": [{"id": "/a", "tas' }]) {
      const broken = await marathon(() => bad);
      const result = await fetchSnapshot([parseEndpoint(broken.url, {}), parseEndpoint(good.url, {})], fast);
      expect(result.source).toBe(good.url);
    }
  });

  it("an HTML page or HAProxy's stats page says this is not Marathon's API, and is not retried", async () => {
    const stats = await marathon(() => ({
      body: "<html><head><title>Statistics Report for HAProxy</title></head></html>",
      headers: { "content-type": "text/html" },
    }));
    const error = await failure(fetchSnapshot([parseEndpoint(stats.url, {})], fast));
    expect(error.exitCode).toBe(ExitCode.marathonData);
    expect(error.message).toContain(
      `${stats.url} (this is not Marathon's API (it answered text/html: "Statistics Report for HAProxy")`,
    );
    expect(error.message).not.toContain("leader election");
    expect(stats.requests).toHaveLength(1);
  });

  it("every address failing: exit 5 when one answered with something unusable, else 3", async () => {
    const stats = await marathon(() => ({ body: "<html></html>", headers: { "content-type": "text/html" } }));
    const dead = await freePort();
    const endpoints = [parseEndpoint(stats.url, {}), parseEndpoint(`127.0.0.1:${dead}`, {})];
    const error = await failure(fetchSnapshot(endpoints, { ...fast, retries: 0 }));
    expect(error.exitCode).toBe(ExitCode.marathonData);
    expect(error.message).toMatch(
      /^no usable answer from Marathon: .*this is not Marathon's API.*, http:\/\/127\.0\.0\.1:\d+ \(/,
    );
  });

  it("mentions leader election only when Marathon itself answered the 5xx", async () => {
    const proxy = await marathon(() => ({ status: 503, body: "<html>Service Unavailable</html>" }));
    const proxied = await failure(fetchSnapshot([parseEndpoint(proxy.url, {})], { ...fast, retries: 0 }));
    expect(proxied.message).toBe(`Marathon unreachable: ${proxy.url} (HTTP 503)`);
    const electing = await marathon(() => json({ message: "Could not determine the current leader" }, 503));
    const fromMarathon = await failure(
      fetchSnapshot([parseEndpoint(electing.url, {})], { ...fast, retries: 0 }),
    );
    expect(fromMarathon.message).toContain(
      "HTTP 503 from Marathon (it answers 502/503 during leader election)",
    );
  });

  it("says each retry on stderr without --verbose: waiting for Marathon at …: attempt 2 of 4", async () => {
    let calls = 0;
    const m = await marathon(() => (++calls === 1 ? { status: 502, body: "" } : json(body)));
    const url = m.url.replace("http://", "http://alice:s3cret@");
    const result = await runMhc(["render", url, "--retries", "3"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`mhc: waiting for Marathon at ${m.url}: attempt 2 of 4 (last: HTTP 502)\n`);
  });

  it("an attempt slower than 2 s is said once while it waits", async () => {
    const m = await marathon(() => ({ ...json(body), delayMs: 2_600 }));
    const result = await runMhc(["render", m.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`mhc: waiting for Marathon at ${m.url}: attempt 1 of 4\n`);
  });
});

describe("TLS with a private CA (--ca-file)", () => {
  it("verifies Marathon's certificate against the given CA, and refuses it without", async () => {
    const { ca, key, cert } = makeCertificates();
    const server = createServer({ key, cert }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await fetchSnapshot([parseEndpoint(url, {})], { ...fast, ca });
      expect(ok.snapshot.apps).toHaveLength(1);
      const error = await failure(fetchSnapshot([parseEndpoint(url, {})], { ...fast, retries: 0 }));
      expect(error.exitCode).toBe(ExitCode.marathonUnreachable);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("credentials and refusals", () => {
  it("a --token wins over basic auth, from --auth and from the URL", async () => {
    const m = await marathon(() => json(body));
    const url = m.url.replace("http://", "http://bob:pw@");
    await fetchSnapshot([parseEndpoint(url, { basic: "alice:s3cret", token: "eyJtoken" })], fast);
    expect(m.requests.map((r) => r.headers.authorization)).toEqual(["token=eyJtoken"]);
  });

  it("403 stops at once like 401; another 4xx skips that address without retrying it", async () => {
    const forbidden = await marathon(() => ({ status: 403, body: "{}" }));
    const second = await marathon(() => json(body));
    const error = await failure(
      fetchSnapshot([parseEndpoint(forbidden.url, {}), parseEndpoint(second.url, {})], fast),
    );
    expect(error.exitCode).toBe(ExitCode.marathonAuth);
    expect(forbidden.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);

    const missing = await marathon(() => ({ status: 404, body: "{}" }));
    const ok = await fetchSnapshot([parseEndpoint(missing.url, {}), parseEndpoint(second.url, {})], fast);
    expect(ok.snapshot.apps).toHaveLength(1);
    expect(missing.requests).toHaveLength(1);
    const onlyMissing = await failure(fetchSnapshot([parseEndpoint(missing.url, {})], fast));
    expect(onlyMissing.exitCode).toBe(ExitCode.marathonUnreachable);
    expect(missing.requests).toHaveLength(2); // one per fetch: a 404 is not retried
  });
});
