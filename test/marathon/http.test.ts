import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/marathon/address.ts";
import { get, HttpFailure } from "../../src/marathon/http.ts";
import { marathonsClosedAfterEach } from "../helpers/marathon.ts";
import { makeCertificates } from "../helpers/tls.ts";

const marathon = marathonsClosedAfterEach();

async function text(url: string, authorization?: string): Promise<string> {
  const endpoint = parseEndpoint(url, authorization ? { token: authorization } : {});
  const response = await get(endpoint, "/v2/apps", { accept: "application/json", timeoutMs: 2_000 });
  const chunks: Buffer[] = [];
  try {
    await response.read((chunk) => chunks.push(chunk));
  } finally {
    response.close();
  }
  return Buffer.concat(chunks).toString("utf8");
}

describe("HTTP layer shared by the Marathon client and the event stream", () => {
  it("asks for compression and undoes gzip, deflate and br itself", async () => {
    const plain = JSON.stringify({ apps: [] });
    const encoded: Record<string, Buffer> = {
      gzip: gzipSync(plain),
      deflate: deflateSync(plain),
      br: brotliCompressSync(plain),
    };
    for (const [encoding, body] of Object.entries(encoded)) {
      const m = await marathon(() => ({ body, headers: { "content-encoding": encoding } }));
      expect(await text(m.url)).toBe(plain);
      expect(m.requests[0]?.headers["accept-encoding"]).toContain(encoding);
    }
  });

  it("a corrupt gzip answer is one HttpFailure line naming it, never the runtime's ZlibError", async () => {
    const m = await marathon(() => ({
      body: Buffer.from("this is not gzip at all"),
      headers: { "content-encoding": "gzip" },
    }));
    const error = await text(m.url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpFailure);
    expect((error as HttpFailure).message).toMatch(/^corrupt gzip answer \(/);
    expect((error as HttpFailure).message).not.toContain("\n");
  });

  it("follows redirects with the credentials re-sent to the new origin", async () => {
    const leader = await marathon(() => ({ body: '{"apps":[]}' }));
    const follower = await marathon(() => ({ status: 307, headers: { location: `${leader.url}/v2/apps` } }));
    expect(await text(follower.url, "tok3n")).toBe('{"apps":[]}');
    expect(leader.requests[0]?.headers.authorization).toBe("token=tok3n");
  });

  it("never follows a redirect from https to plain http with credentials", async () => {
    const plain = await marathon(() => ({ body: '{"apps":[]}' }));
    const { ca, key, cert } = makeCertificates();
    const tls = createServer({ key, cert }, (_req, res) => {
      res.writeHead(307, { location: `${plain.url}/v2/apps` }).end();
    });
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", () => r()));
    try {
      const endpoint = parseEndpoint(`https://127.0.0.1:${(tls.address() as AddressInfo).port}`, {
        basic: "alice:s3cret",
      });
      const error = await get(endpoint, "/v2/apps", {
        accept: "application/json",
        timeoutMs: 2_000,
        ca,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as HttpFailure).message).toBe(
        `refusing to send credentials to ${plain.url} over plain http`,
      );
      expect(plain.requests).toHaveLength(0);
    } finally {
      tls.closeAllConnections();
      tls.close();
    }
  });
});

describe("redirect bound", () => {
  it("follows up to 3 redirects; a 4th is a clear failure", async () => {
    const leader = await marathon(() => ({ body: '{"apps":[]}' }));
    let next = leader.url;
    const hops: { url: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const target = next;
      const hop = await marathon(() => ({ status: 307, headers: { location: `${target}/v2/apps` } }));
      hops.push(hop);
      next = hop.url;
    }
    // hops[2] is three redirects away from the leader, hops[3] four.
    expect(await text(hops[2]?.url as string)).toBe('{"apps":[]}');
    const error = await text(hops[3]?.url as string).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpFailure);
    expect((error as HttpFailure).message).toContain("more than 3 redirects");
  });
});
