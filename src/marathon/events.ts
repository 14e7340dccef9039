import { formatDuration } from "../args/duration.ts";
import { errorMessage } from "../errors.ts";
import type { MarathonEndpoint } from "./address.ts";
import { fetchWithCa, rootCause } from "./client.ts";
import { SseParser } from "./sse.ts";

/**
 * The Marathon events that can change the rendered config. Marathon filters server-side on
 * `event_type=` (1.4+); older ones send everything, so the same list also filters client-side.
 * Pod events are left out: mhc reads /v2/apps, which has no pods.
 */
export const watchedEventTypes = [
  // A task started, stopped, failed or became unreachable (also how Mesos-run health checks surface).
  "status_update_event",
  "instance_changed_event",
  "unknown_instance_terminated_event",
  // Marathon-run health checks (1.4 and older) and instance health (1.4+).
  "health_status_changed_event",
  "instance_health_changed_event",
  // App definitions: labels, ports, networks, deleted apps.
  "api_post_event",
  "group_change_success",
  "app_terminated_event",
  "deployment_success",
  "deployment_failed",
] as const;

/** The events URL path: light deployment plans (smaller payloads, Marathon 1.7+) and the type filter. */
export function eventsPath(types: readonly string[] = watchedEventTypes): string {
  const query = ["plan-format=light", ...types.map((t) => `event_type=${encodeURIComponent(t)}`)];
  return `/v2/events?${query.join("&")}`;
}

/** Event name from the SSE `event:` field, else from the JSON `eventType` Marathon also puts in data. */
export function eventTypeOf(event: { type: string; data: string }): string {
  if (event.type !== "message") return event.type;
  try {
    const parsed = JSON.parse(event.data) as { eventType?: unknown };
    return typeof parsed.eventType === "string" ? parsed.eventType : event.type;
  } catch {
    return event.type;
  }
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

const defaultBackoff: Backoff = { initialMs: 500, maxMs: 30_000 };

/** Delay before reconnect attempt `failures` (0-based): doubling, capped, jittered into [half, full]. */
export function backoffDelay(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.initialMs * 2 ** Math.min(failures, 30), backoff.maxMs);
  return base / 2 + random() * (base / 2);
}

export interface EventStreamOptions {
  endpoints: MarathonEndpoint[];
  /** Bounds connecting and the response headers of each attempt. */
  timeoutMs: number;
  /** Reconnect when no byte at all (keep-alives included) arrives for this long. */
  idleTimeoutMs: number;
  ca?: string;
  backoff?: Backoff;
  /** Ends the subscription. */
  signal: AbortSignal;
  onEvent(type: string): void;
  onConnected(source: string): void;
  onDisconnected(reason: string, retryInMs: number): void;
}

/** Redirect hops followed per attempt; Marathon needs one (follower → leader). */
const maxRedirects = 3;

class StreamError extends Error {}

type Fetch = typeof globalThis.fetch;

/**
 * Subscribes to Marathon's event stream until `signal` aborts, whatever happens: a failed attempt
 * or a dropped, silent or refused stream is reported and retried with jittered exponential
 * backoff, each attempt on the next address (round robin).
 */
export async function watchEvents(options: EventStreamOptions): Promise<void> {
  const fetcher: Fetch = options.ca ? fetchWithCa(options.ca) : globalThis.fetch;
  const backoff = options.backoff ?? defaultBackoff;
  let failures = 0;
  for (let attempt = 0; !options.signal.aborted; attempt++) {
    const endpoint = options.endpoints[attempt % options.endpoints.length] as MarathonEndpoint;
    let reason: string;
    try {
      reason = await streamOnce(fetcher, endpoint, options, () => {
        failures = 0;
      });
    } catch (error) {
      reason = errorMessage(error);
      failures++;
    }
    if (options.signal.aborted) return;
    const delay = backoffDelay(Math.max(0, failures - 1), backoff);
    options.onDisconnected(`${endpoint.url}: ${reason}`, delay);
    await sleep(delay, options.signal);
  }
}

/** One connection: returns why a connected stream ended, throws StreamError when it never connected. */
async function streamOnce(
  fetcher: Fetch,
  endpoint: MarathonEndpoint,
  options: EventStreamOptions,
  connected: () => void,
): Promise<string> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal.addEventListener("abort", stop);
  try {
    const { response, url } = await connect(fetcher, endpoint, options.timeoutMs, controller);
    const body = response.body;
    if (!body) throw new StreamError("empty response");
    connected();
    options.onConnected(url);
    return await readEvents(body, options, controller.signal);
  } finally {
    options.signal.removeEventListener("abort", stop);
    controller.abort();
  }
}

/**
 * GET with redirects followed by hand: Marathon followers redirect /v2/events to the leader, and
 * fetch drops Authorization on a cross-origin redirect, so each hop re-sends it (never to http
 * from https).
 */
async function connect(
  fetcher: Fetch,
  endpoint: MarathonEndpoint,
  timeoutMs: number,
  controller: AbortController,
): Promise<{ response: Response; url: string }> {
  const timer = setTimeout(
    () => controller.abort(new StreamError(`no answer within ${formatDuration(timeoutMs)}`)),
    timeoutMs,
  );
  try {
    let url = `${endpoint.url}${eventsPath()}`;
    for (let hop = 0; ; hop++) {
      let response: Response;
      try {
        response = await fetcher(url, {
          redirect: "manual",
          signal: controller.signal,
          headers: {
            accept: "text/event-stream",
            ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}),
          },
        });
      } catch (error) {
        const reason = controller.signal.reason;
        throw reason instanceof StreamError ? reason : new StreamError(errorMessage(rootCause(error)));
      }
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel().catch(() => {});
        if (hop >= maxRedirects) throw new StreamError(`more than ${maxRedirects} redirects`);
        const next = new URL(location, url);
        if (next.protocol !== "http:" && next.protocol !== "https:")
          throw new StreamError(`redirect to unsupported ${next.protocol} address`);
        if (endpoint.authorization && new URL(url).protocol === "https:" && next.protocol === "http:")
          throw new StreamError(`refusing to send credentials to ${next.origin} over plain http`);
        url = next.href;
        continue;
      }
      if (response.status === 200) return { response, url: new URL(url).origin };
      await response.body?.cancel().catch(() => {});
      if (response.status === 401 || response.status === 403)
        throw new StreamError(`refused the credentials (HTTP ${response.status})`);
      throw new StreamError(`HTTP ${response.status}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

type ReadOutcome = { kind: "chunk"; value: Uint8Array } | { kind: "end"; reason: string };

/**
 * Reads until the stream ends, goes silent for idleTimeoutMs, fails, or the watcher stops. Each read
 * races a timer instead of relying on abort() to end a pending read, which Node, Bun and Deno
 * handle differently; the reader is cancelled only after the loop is left.
 */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  options: EventStreamOptions,
  signal: AbortSignal,
): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const watched = new Set<string>(watchedEventTypes);
  try {
    for (;;) {
      const next = await readWithin(reader, options.idleTimeoutMs, signal);
      if (next.kind === "end") return next.reason;
      for (const event of parser.push(decoder.decode(next.value, { stream: true }))) {
        const type = eventTypeOf(event);
        if (watched.has(type)) options.onEvent(type);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleTimeoutMs: number,
  signal: AbortSignal,
): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    const finish = (outcome: ReadOutcome) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish({ kind: "end", reason: "stopped" });
    const timer = setTimeout(
      () => finish({ kind: "end", reason: `no data for ${formatDuration(idleTimeoutMs)} (stream stalled)` }),
      idleTimeoutMs,
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort);
    reader.read().then(
      (result) =>
        finish(
          result.done ? { kind: "end", reason: "stream closed" } : { kind: "chunk", value: result.value },
        ),
      (error: unknown) => finish({ kind: "end", reason: `stream failed: ${errorMessage(rootCause(error))}` }),
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
