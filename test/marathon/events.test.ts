import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/marathon/address.ts";
import {
  backoffDelay,
  type EventStreamOptions,
  eventsPath,
  watchEvents,
  watchedEventTypes,
} from "../../src/marathon/events.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { freePort } from "../helpers/net.ts";
import { eventually, sleep } from "../helpers/wait.ts";

const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

async function marathon(): Promise<EventMarathon> {
  const m = await startEventMarathon({ apps: [] });
  marathons.push(m);
  return m;
}

/** Runs watchEvents against `addresses` and records what it reports, until stop(). */
function subscribe(addresses: string[], idleTimeoutMs = 2_000, extra: Partial<EventStreamOptions> = {}) {
  const controller = new AbortController();
  const seen = { events: [] as string[], connected: [] as string[], disconnected: [] as string[] };
  const done = watchEvents({
    endpoints: addresses.map((a) => parseEndpoint(a, {})),
    timeoutMs: 2_000,
    idleTimeoutMs,
    backoff: { initialMs: 50, maxMs: 200 },
    signal: controller.signal,
    onEvent: (type) => seen.events.push(type),
    onConnected: (source) => seen.connected.push(source),
    onDisconnected: (reason) => seen.disconnected.push(reason),
    ...extra,
  });
  return {
    seen,
    stop: async () => {
      const started = Date.now();
      controller.abort();
      await done;
      return Date.now() - started;
    },
  };
}

describe("Marathon event stream", () => {
  it("asks Marathon for the watched event types only, with light deployment plans", () => {
    const path = eventsPath();
    expect(path.startsWith("/v2/events?plan-format=light&")).toBe(true);
    const types = new URL(`http://x${path}`).searchParams.getAll("event_type");
    expect(types).toEqual([...watchedEventTypes]);
    for (const required of [
      "status_update_event",
      "health_status_changed_event",
      "instance_health_changed_event",
      "api_post_event",
      "deployment_success",
      "deployment_failed",
      "app_terminated_event",
    ]) {
      expect(types).toContain(required);
    }
  });

  it("backs off exponentially with jitter, within [half, full] of a capped base", () => {
    const backoff = { initialMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, backoff, () => 0)).toBe(250);
    expect(backoffDelay(0, backoff, () => 1)).toBe(500);
    expect(backoffDelay(3, backoff, () => 1)).toBe(4_000);
    expect(backoffDelay(50, backoff, () => 0)).toBe(15_000);
    expect(backoffDelay(50, backoff, () => 1)).toBe(30_000);
  });

  it("reports watched events and ignores the others (an old Marathon ignores the filter)", async () => {
    const m = await marathon();
    const s = subscribe([m.url]);
    await eventually(() => m.openStreams() === 1, "the stream");
    m.send("framework_message_event");
    m.send("status_update_event");
    m.send("deployment_success");
    await eventually(() => s.seen.events.length === 2, "two events");
    expect(s.seen.events).toEqual(["status_update_event", "deployment_success"]);
    expect(await s.stop()).toBeLessThan(1_000);
  });

  it("rotates to the next address when one refuses connections, and comes back round", async () => {
    const dead = await freePort();
    const m = await marathon();
    const s = subscribe([`127.0.0.1:${dead}`, m.url]);
    await eventually(() => s.seen.connected.length === 1, "a connection to the live address");
    expect(s.seen.connected).toEqual([m.url]);
    // Node and Bun say ECONNREFUSED; Deno's fetch says "error sending request … Connection refused".
    expect(s.seen.disconnected[0]).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${dead}: .*(ECONNREFUSED|refused|error sending)`, "i"),
    );
    m.drop();
    await eventually(() => s.seen.connected.length === 2, "a reconnect after the drop");
    expect(s.seen.disconnected.length).toBeGreaterThanOrEqual(3); // drop, then the dead one again
    await s.stop();
  });

  it("reconnects a stream silent for the idle timeout; keep-alives keep it", async () => {
    const m = await marathon();
    m.keepAliveMs = 0;
    const s = subscribe([m.url], 300);
    await eventually(() => s.seen.disconnected.length === 1, "the watchdog");
    expect(s.seen.disconnected[0]).toContain("no event or keep-alive for 300 ms (stream stalled)");
    await eventually(() => s.seen.connected.length === 2, "the reconnect");
    m.keepAliveMs = 100;
    const before = s.seen.disconnected.length;
    m.drop(); // the next stream gets keep-alives
    await eventually(() => s.seen.connected.length === 3, "a stream with keep-alives");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(s.seen.disconnected.length).toBe(before + 1);
    await s.stop();
  });

  it("reports refused credentials and keeps retrying", async () => {
    const m = await marathon();
    m.authorization = "Basic nope";
    const s = subscribe([m.url]);
    await eventually(() => s.seen.disconnected.length >= 2, "two refusals");
    expect(s.seen.disconnected[0]).toContain("refused the credentials (HTTP 401)");
    m.authorization = undefined;
    await eventually(() => s.seen.connected.length === 1, "a connection once accepted");
    await s.stop();
  });
});

describe("Marathon event stream under a broken or hostile server", () => {
  /** A server whose /v2/events does whatever `stream` does with the response. */
  async function server(stream: (res: ServerResponse) => void) {
    const connects: number[] = [];
    const s = createServer((_req, res) => {
      connects.push(Date.now());
      stream(res);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const close = () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      });
    closers.push(close);
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, connects };
  }
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  const sse = (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();
  };

  it("an endless event line is cut at the bound and the stream reconnected, with a clear reason", async () => {
    const chunk = `data: ${"x".repeat(64 * 1024)}`;
    const m = await server((res) => {
      sse(res);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const s = subscribe([m.url], 5_000, { maxEventChars: 1 << 20 });
    const before = process.memoryUsage().rss;
    await eventually(() => s.seen.disconnected.length >= 2, "two cut streams");
    expect(s.seen.disconnected[0]).toBe(
      `${m.url}: an event longer than 1048576 characters (a broken stream?)`,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    await s.stop();
  });

  it("a trickle of bytes that never completes a line is stalled: --idle-timeout fires", async () => {
    const m = await server((res) => {
      sse(res);
      const timer = setInterval(() => res.write("x"), 50);
      res.on("close", () => clearInterval(timer));
    });
    const s = subscribe([m.url], 400);
    await eventually(() => s.seen.disconnected.length >= 1, "the watchdog", 3_000);
    expect(s.seen.disconnected[0]).toContain("no event or keep-alive for 400 ms (stream stalled)");
    await s.stop();
  });

  it("a stream that closes as soon as it connects reconnects with the backoff, not at once", async () => {
    const m = await server((res) => {
      sse(res);
      res.end();
    });
    const delays: number[] = [];
    const s = subscribe([m.url], 2_000, {
      backoff: { initialMs: 100, maxMs: 400 },
      onDisconnected: (_reason, retryInMs) => delays.push(retryInMs),
    });
    await sleep(2_000);
    await s.stop();
    // Each retry waits its jittered delay in [base/2, base], base doubling 100 → 200 → 400 (cap):
    // the gaps between connects respect the delays it announced (without a backoff: hundreds).
    expect(m.connects.length).toBeGreaterThanOrEqual(3);
    expect(m.connects.length).toBeLessThanOrEqual(14);
    for (const [i, delay] of delays.entries()) {
      expect(delay).toBeGreaterThanOrEqual(Math.min(100 * 2 ** i, 400) / 2);
      expect(delay).toBeLessThanOrEqual(Math.min(100 * 2 ** i, 400));
    }
    for (let i = 1; i < m.connects.length; i++) {
      const gap = (m.connects[i] as number) - (m.connects[i - 1] as number);
      expect(gap).toBeGreaterThanOrEqual((delays[i - 1] as number) - 15);
    }
  });

  it("a 200 that is not an event stream says so", async () => {
    const m = await server((res) => {
      res.writeHead(200, { "content-type": "text/html" }).end("<html>HAProxy</html>");
    });
    const s = subscribe([m.url]);
    await eventually(() => s.seen.disconnected.length >= 1, "the refusal");
    expect(s.seen.disconnected[0]).toBe(
      `${m.url}: this is not Marathon's event stream (it answered text/html)`,
    );
    await s.stop();
  });

  it("--timeout bounds connecting: a server that never answers the subscription is given up and retried", async () => {
    const m = await server(() => {}); // accepts, never sends headers
    const s = subscribe([m.url], 60_000, { timeoutMs: 300 });
    await eventually(() => m.connects.length >= 2, "a second attempt after the timeout", 5_000);
    expect(s.seen.disconnected[0]).toContain(m.url);
    expect(s.seen.connected).toEqual([]);
    const first = m.connects[0] as number;
    expect((m.connects[1] as number) - first).toBeGreaterThanOrEqual(250);
    await s.stop();
  });
});
