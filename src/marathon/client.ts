import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { type $Fetch, createFetch, ofetch } from "ofetch";
import { parseSnapshot, type Snapshot } from "../core/snapshot.ts";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { log } from "../log.ts";
import type { MarathonEndpoint } from "./address.ts";

export interface ClientOptions {
  timeoutMs: number;
  /** Extra rounds over all addresses after the first, on connection errors and 5xx. */
  retries: number;
  /** PEM bundle of a private CA; TLS is verified either way. */
  ca?: string;
  /** First backoff between rounds; doubles each round (with jitter), capped at 5 s. */
  backoffMs?: number;
}

export interface FetchedSnapshot {
  snapshot: Snapshot;
  /** The address that answered, without credentials. */
  source: string;
  body: string;
}

const appsPath = "/v2/apps?embed=apps.tasks";

type Fetch = typeof globalThis.fetch;

/** fetch() over node:https with a private CA: the one portable way across Node, Bun and Deno. */
export function fetchWithCa(ca: string): Fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = httpsRequest(
        url,
        { method: init?.method ?? "GET", headers, ca, signal: init?.signal ?? undefined },
        (res) => {
          const responseHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              responseHeaders.set(key, Array.isArray(value) ? value.join(", ") : value);
          }
          resolve(
            new Response(Readable.toWeb(res) as ReadableStream, {
              status: res.statusCode ?? 0,
              headers: responseHeaders,
            }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
}

class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly exitCode: (typeof ExitCode)[keyof typeof ExitCode] = ExitCode.marathonUnreachable,
  ) {
    super(message);
  }
}

/** The innermost cause of a failed fetch: "connect ECONNREFUSED …", "self-signed certificate", … */
export function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}

async function attempt(
  client: $Fetch,
  endpoint: MarathonEndpoint,
  path: string,
  options: ClientOptions,
): Promise<string> {
  let response: Response;
  try {
    response = await client.raw(`${endpoint.url}${path}`, {
      retry: 0,
      responseType: "text",
      ignoreResponseError: true,
      redirect: "follow",
      // The signal bounds connect, headers and the body read alike (ofetch's own timeout stops at headers).
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: {
        accept: "application/json",
        ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}),
      },
    });
  } catch (error) {
    const cause = rootCause(error);
    const name = (cause as Error)?.name;
    const reason =
      name === "TimeoutError" || name === "AbortError"
        ? `no answer within ${options.timeoutMs / 1000} s`
        : errorMessage(cause);
    throw new AttemptError(reason, true);
  }
  const status = response.status;
  if (status === 401 || status === 403) {
    throw new AttemptError(
      `refused the credentials (HTTP ${status}); check --auth / --token (or MARATHON_AUTH / MARATHON_TOKEN)`,
      false,
      ExitCode.marathonAuth,
    );
  }
  if (status >= 500)
    throw new AttemptError(`HTTP ${status} (Marathon answers 502/503 during leader election)`, true);
  if (status < 200 || status >= 300)
    throw new AttemptError(`HTTP ${status}; is this a Marathon address?`, false);
  return (response as Response & { _data?: string })._data ?? "";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fetches from the first Marathon that answers. Addresses are tried in order; connection errors,
 * timeouts and 5xx are retried in bounded rounds with jittered backoff. 401/403 stop at once.
 */
async function fetchFromMarathon(
  endpoints: MarathonEndpoint[],
  path: string,
  options: ClientOptions,
): Promise<{ body: string; source: string }> {
  const failures = new Map<string, string>();
  const skip = new Set<string>();
  const client = options.ca ? createFetch({ fetch: fetchWithCa(options.ca) }) : ofetch;
  for (let round = 0; round <= options.retries; round++) {
    if (round > 0) {
      const base = Math.min((options.backoffMs ?? 500) * 2 ** (round - 1), 5_000);
      await sleep(base / 2 + Math.random() * (base / 2));
    }
    for (const endpoint of endpoints) {
      if (skip.has(endpoint.url)) continue;
      try {
        const body = await attempt(client, endpoint, path, options);
        return { body, source: endpoint.url };
      } catch (error) {
        if (!(error instanceof AttemptError)) throw error;
        if (error.exitCode === ExitCode.marathonAuth) {
          throw new MhcError(`Marathon at ${endpoint.url} ${error.message}`, ExitCode.marathonAuth);
        }
        failures.set(endpoint.url, error.message);
        if (!error.retryable) skip.add(endpoint.url);
        log.debug(`Marathon ${endpoint.url}: ${error.message}`);
      }
    }
    if (skip.size === endpoints.length) break;
  }
  const detail = [...failures].map(([url, reason]) => `${url} (${reason})`).join(", ");
  throw new MhcError(`Marathon unreachable: ${detail}`, ExitCode.marathonUnreachable);
}

/** GET /v2/apps?embed=apps.tasks from the first Marathon that answers, parsed and shape-checked. */
export async function fetchSnapshot(
  endpoints: MarathonEndpoint[],
  options: ClientOptions,
): Promise<FetchedSnapshot> {
  const { body, source } = await fetchFromMarathon(endpoints, appsPath, options);
  return { snapshot: parseSnapshot(body, `Marathon at ${source}`), source, body };
}
