import { formatDuration } from "../args/duration.ts";
import { errorMessage } from "../errors.ts";
import type { MarathonEndpoint } from "./address.ts";
import { get, HttpFailure, type HttpResponse } from "./http.ts";
import { type SseEvent, SseEventTooLarge, SseParser } from "./sse.ts";

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
  /** Reconnect when no complete line (an event, a keep-alive) arrives for this long. */
  idleTimeoutMs: number;
  ca?: string;
  backoff?: Backoff;
  /** Reconnect when one event grows past this many characters (default 16 Mi). */
  maxEventChars?: number;
  /** Ends the subscription. */
  signal: AbortSignal;
  /** A watched event: its type and its JSON text (Marathon's own fields, applied in watch mode). */
  onEvent(type: string, data: string): void;
  onConnected(source: string): void;
  onDisconnected(reason: string, retryInMs: number): void;
}

/**
 * A connection that ends sooner than this after it connected counts as a failed attempt, so a
 * stream that closes as soon as it opens backs off like one that never connects.
 */
const stableAfterMs = 10_000;

/**
 * Subscribes to Marathon's event stream until `signal` aborts, whatever happens: a failed attempt
 * or a dropped, silent, oversized or refused stream is reported and retried with jittered
 * exponential backoff, each attempt on the next address (round robin). The backoff starts over
 * only after a connection that stayed up for a while.
 */
export async function watchEvents(options: EventStreamOptions): Promise<void> {
  const backoff = options.backoff ?? defaultBackoff;
  let failures = 0;
  for (let attempt = 0; !options.signal.aborted; attempt++) {
    const endpoint = options.endpoints[attempt % options.endpoints.length] as MarathonEndpoint;
    let reason: string;
    let connectedAt: number | undefined;
    try {
      reason = await streamOnce(endpoint, options, () => {
        connectedAt = Date.now();
      });
    } catch (error) {
      reason = errorMessage(error);
    }
    if (options.signal.aborted) return;
    const stable = connectedAt !== undefined && Date.now() - connectedAt >= stableAfterMs;
    failures = stable ? 0 : failures + 1;
    const delay = backoffDelay(Math.max(0, failures - 1), backoff);
    options.onDisconnected(`${endpoint.url}: ${reason}`, delay);
    await sleep(delay, options.signal);
  }
}

/** One connection: returns why a connected stream ended, throws when it never connected. */
async function streamOnce(
  endpoint: MarathonEndpoint,
  options: EventStreamOptions,
  connected: () => void,
): Promise<string> {
  const response = await get(endpoint, eventsPath(), {
    accept: "text/event-stream",
    timeoutMs: options.timeoutMs,
    ...(options.ca ? { ca: options.ca } : {}),
    signal: options.signal,
  });
  try {
    const contentType = String(response.headers["content-type"] ?? "");
    if (contentType !== "" && !contentType.includes("text/event-stream"))
      throw new HttpFailure(`this is not Marathon's event stream (it answered ${contentType})`, false);
    connected();
    options.onConnected(response.origin);
    return await readEvents(response, options);
  } finally {
    response.close();
  }
}

/**
 * Reads until the stream ends, shows no sign of life (no complete line) for idleTimeoutMs, sends
 * an oversized event, fails, or the watcher stops; returns which. A byte trickle that never
 * completes a line is as stalled as silence.
 */
function readEvents(response: HttpResponse, options: EventStreamOptions): Promise<string> {
  const decoder = new TextDecoder();
  const parser = new SseParser(options.maxEventChars);
  const watched = new Set<string>(watchedEventTypes);
  return new Promise<string>((resolve) => {
    let lastLineAt = Date.now();
    let idle: ReturnType<typeof setTimeout>;
    const finish = (reason: string) => {
      clearTimeout(idle);
      options.signal.removeEventListener("abort", onStop);
      response.close();
      resolve(reason);
    };
    const onStop = () => finish("stopped");
    // One timer, re-armed for the rest of the period when a line completed meanwhile.
    const watchdog = () => {
      const left = lastLineAt + options.idleTimeoutMs - Date.now();
      if (left > 0) idle = setTimeout(watchdog, left);
      else finish(`no event or keep-alive for ${formatDuration(options.idleTimeoutMs)} (stream stalled)`);
    };
    watchdog();
    if (options.signal.aborted) return onStop();
    options.signal.addEventListener("abort", onStop);
    let oversized: string | undefined;
    response
      .read((chunk) => {
        let events: SseEvent[];
        const linesBefore = parser.lines;
        try {
          events = parser.push(decoder.decode(chunk, { stream: true }));
        } catch (error) {
          if (error instanceof SseEventTooLarge) oversized = `${error.message} (a broken stream?)`;
          throw error;
        }
        if (parser.lines > linesBefore) lastLineAt = Date.now();
        for (const event of events) {
          const type = eventTypeOf(event);
          if (watched.has(type)) options.onEvent(type, event.data);
        }
      })
      .then(
        () => finish("stream closed"),
        (error: unknown) => finish(oversized ?? `stream failed: ${errorMessage(error)}`),
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
