import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { ExitCode, type ExitCodeValue, errorMessage } from "../errors.ts";
import type { MarathonEndpoint } from "./address.ts";

/**
 * The one way mhc talks HTTP to Marathon, for the API client and the event stream alike. It runs
 * on node:http(s), not fetch: fetch cannot take a private CA portably, follows redirects without
 * the Authorization header, and decompresses on its own (Bun prints its own line on a corrupt
 * gzip and no runtime lets the caller bound what a gzip bomb expands to). Here the body is
 * decompressed by node:zlib as it is read, so a reader that stops stops the inflation too.
 */

/** Why one request failed, in one line; `retryable` when the same address may answer next time. */
export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly exitCode: ExitCodeValue = ExitCode.marathonUnreachable,
    /** The HTTP status, when the failure is one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface GetOptions {
  /** The Accept header. */
  accept: string;
  /** Bounds connecting and the response headers, over all redirect hops. */
  timeoutMs: number;
  /** PEM bundle of a private CA; TLS is verified either way. */
  ca?: string;
  /** Aborts the request and the body read; a TimeoutError reason reads as "no answer within timeoutMs". */
  signal?: AbortSignal;
}

export interface HttpResponse {
  /** A 2xx status: every other one is an HttpFailure. */
  status: number;
  headers: IncomingHttpHeaders;
  /** The origin that answered (the leader, after redirects), without credentials. */
  origin: string;
  /** Feeds the body, decompressed as it arrives, to `onChunk` (which may throw to stop) until it ends. */
  read(onChunk: (chunk: Buffer) => void): Promise<void>;
  /** Stops reading and closes the connection. */
  close(): void;
}

/** Redirect hops followed per request; Marathon needs one (follower → leader). */
const maxRedirects = 3;

/**
 * GET `path` from `endpoint`. Redirects are followed by hand so each hop re-sends Authorization
 * (Marathon followers redirect /v2/events to the leader on another origin), but never from https
 * to plain http. 401/403, other non-2xx answers, timeouts and connection errors become one-line
 * HttpFailures; 5xx mention leader election only when Marathon itself answered.
 */
export async function get(
  endpoint: MarathonEndpoint,
  path: string,
  options: GetOptions,
): Promise<HttpResponse> {
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) forwardAbort();
  options.signal?.addEventListener("abort", forwardAbort);
  const stopForwarding = () => options.signal?.removeEventListener("abort", forwardAbort);
  const timer = setTimeout(
    () => controller.abort(new HttpFailure(noAnswerWithin(options.timeoutMs), true)),
    options.timeoutMs,
  );
  const headers: Record<string, string> = {
    accept: options.accept,
    "accept-encoding": "gzip, deflate, br",
    ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}),
  };
  try {
    let url = new URL(`${endpoint.url}${path}`);
    for (let hop = 0; ; hop++) {
      const res = await send(url, headers, controller.signal, options);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        res.destroy();
        if (hop >= maxRedirects) throw new HttpFailure(`more than ${maxRedirects} redirects`, false);
        url = nextHop(url, location, endpoint.authorization !== undefined);
        continue;
      }
      if (status < 200 || status >= 300) throw statusFailure(status, res.headers, await snippet(res));
      clearTimeout(timer);
      const close = () => {
        stopForwarding();
        res.destroy();
      };
      return {
        status,
        headers: res.headers,
        origin: url.origin,
        read: bodyReader(res, controller.signal, options.timeoutMs, close),
        close,
      };
    }
  } catch (error) {
    const failure = failureFrom(error, controller.signal, options.timeoutMs);
    clearTimeout(timer);
    stopForwarding();
    controller.abort();
    throw failure;
  }
}

function send(url: URL, headers: Record<string, string>, signal: AbortSignal, options: GetOptions) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const tls = url.protocol === "https:";
    const request = tls ? httpsRequest : httpRequest;
    const req = request(
      url,
      { method: "GET", headers, ...(tls && options.ca ? { ca: options.ca } : {}) },
      resolve,
    );
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("close", () => signal.removeEventListener("abort", onAbort));
    req.on("error", reject);
    req.end();
  });
}

function nextHop(current: URL, location: string, withCredentials: boolean): URL {
  const next = new URL(location, current);
  if (next.protocol !== "http:" && next.protocol !== "https:")
    throw new HttpFailure(`redirect to unsupported ${next.protocol} address`, false);
  if (withCredentials && current.protocol === "https:" && next.protocol === "http:")
    throw new HttpFailure(`refusing to send credentials to ${next.origin} over plain http`, false);
  return next;
}

/** The first few KB of an error answer: enough to tell Marathon's JSON `{"message": …}` apart. */
async function snippet(res: IncomingMessage): Promise<string> {
  let text = "";
  try {
    for await (const chunk of res) {
      text += String(chunk);
      if (text.length >= 4_096) break;
    }
  } catch {
    // The status alone says enough.
  }
  res.destroy();
  return text.slice(0, 4_096);
}

/** Marathon marks its answers (X-Marathon-Leader, X-Marathon-Via) and reports errors as {"message": …}. */
function answeredByMarathon(headers: IncomingHttpHeaders, body: string): boolean {
  if (headers["x-marathon-leader"] !== undefined || headers["x-marathon-via"] !== undefined) return true;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed === "object" && parsed !== null && typeof parsed.message === "string";
  } catch {
    return false;
  }
}

function statusFailure(status: number, headers: IncomingHttpHeaders, body: string): HttpFailure {
  if (status === 401 || status === 403) {
    return new HttpFailure(
      `refused the credentials (HTTP ${status}); check --auth / --token (or MARATHON_AUTH / MARATHON_TOKEN)`,
      false,
      ExitCode.marathonAuth,
    );
  }
  if (status >= 500) {
    return new HttpFailure(
      answeredByMarathon(headers, body)
        ? `HTTP ${status} from Marathon (it answers 502/503 during leader election)`
        : `HTTP ${status}`,
      true,
    );
  }
  return new HttpFailure(`HTTP ${status}; is this a Marathon address?`, false, undefined, status);
}

/**
 * Reads the body as the server meant it (gzip, deflate and br undone by node:zlib as it arrives),
 * chunk by chunk, until it ends; every failure is one HttpFailure.
 */
function bodyReader(res: IncomingMessage, signal: AbortSignal, timeoutMs: number, close: () => void) {
  const encoding = String(res.headers["content-encoding"] ?? "")
    .trim()
    .toLowerCase();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  return (onChunk: (chunk: Buffer) => void) =>
    new Promise<void>((resolve, reject) => {
      let settled = false;
      let received = false;
      const onAbort = () => fail(failureFrom(new Error("aborted"), signal, timeoutMs));
      const fail = (failure: HttpFailure) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        close();
        decoder?.destroy();
        reject(failure);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
      res.on("end", () => {
        received = true;
      });
      res.on("error", (error) => fail(failureFrom(error, signal, timeoutMs)));
      res.on("close", () => {
        if (!received) fail(failureFrom(new Error("connection closed mid-answer"), signal, timeoutMs));
      });
      const source: Readable = decoder ?? res;
      decoder?.on("error", (error) =>
        fail(
          new HttpFailure(`corrupt ${encoding} answer (${errorMessage(error)})`, true, ExitCode.marathonData),
        ),
      );
      source.on("data", (chunk: Buffer) => {
        if (settled) return;
        try {
          onChunk(chunk);
        } catch (error) {
          fail(error instanceof HttpFailure ? error : new HttpFailure(errorMessage(error), false));
        }
      });
      source.on("end", () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      if (decoder) res.pipe(decoder);
    });
}

/** In seconds, as --timeout is given. */
const noAnswerWithin = (timeoutMs: number) => `no answer within ${timeoutMs / 1000} s`;

/** Whatever failed, as an HttpFailure: the abort reason when aborted, else the innermost cause. */
function failureFrom(error: unknown, signal: AbortSignal, timeoutMs: number): HttpFailure {
  if (error instanceof HttpFailure) return error;
  if (signal.aborted) {
    const reason = signal.reason as unknown;
    if (reason instanceof HttpFailure) return reason;
    if ((reason as Error)?.name === "TimeoutError") return new HttpFailure(noAnswerWithin(timeoutMs), true);
    return new HttpFailure("stopped", false);
  }
  return new HttpFailure(errorMessage(rootCause(error)), true);
}

/** The innermost cause of a failed request: "connect ECONNREFUSED …", "self-signed certificate", … */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}

/** For messages: 1073741824 → "1 GiB", 65536 → "64 KiB". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}
