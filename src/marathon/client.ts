import type { MarathonApp, Snapshot } from "../core/snapshot.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { log } from "../log.ts";
import type { MarathonEndpoint } from "./address.ts";
import { formatBytes, get, HttpFailure, type HttpResponse } from "./http.ts";
import { SnapshotStreamParser } from "./snapshot-stream.ts";

export interface ClientOptions {
  timeoutMs: number;
  /** Extra rounds over all addresses after the first, on connection errors and 5xx. */
  retries: number;
  /** PEM bundle of a private CA; TLS is verified either way. */
  ca?: string;
  /** First backoff between rounds; doubles each round (with jitter), capped at 5 s. */
  backoffMs?: number;
  /** Largest answer read (after decompression); more is refused before it fills memory. */
  maxResponseBytes: number;
  /** Say "waiting for Marathon" when an attempt has had no answer for this long. */
  slowMs?: number;
}

export interface FetchedSnapshot {
  snapshot: Snapshot;
  /** The address that answered, without credentials. */
  source: string;
  /** The JSON text, when asked for (`keepBody`). */
  body?: string;
}

/** What to GET, and whether to keep the JSON text beside the snapshot (for a digest). */
export interface SnapshotRequest {
  path?: string;
  keepBody?: boolean;
}

const appsPath = "/v2/apps?embed=apps.tasks";

const tooLarge = (maxBytes: number) =>
  new HttpFailure(
    `answered more than ${formatBytes(maxBytes)}; raise --max-response if Marathon really is that large`,
    false,
    ExitCode.marathonData,
  );

/** An answer that does not parse as a snapshot, as an HttpFailure: retried when it may be truncated. */
function dataFailure(error: unknown, origin: string): unknown {
  if (!(error instanceof MhcError)) return error;
  // A truncated answer may be whole next time; a foreign shape will not change.
  const truncated = error.message.includes("not valid JSON");
  return new HttpFailure(error.message.replace(`${origin}: `, ""), truncated, error.exitCode);
}

/**
 * Reads the body, at most `maxBytes` of it (after decompression), parsing it as it arrives (see
 * SnapshotStreamParser): the bytes are dropped chunk by chunk, and a 70 MB snapshot is never held
 * whole unless `keepBody` asks for its text.
 */
async function readSnapshot(
  response: HttpResponse,
  maxBytes: number,
  origin: string,
  keepBody: boolean,
): Promise<{ snapshot: Snapshot; body?: string }> {
  const parser = new SnapshotStreamParser(origin);
  // A byte-order mark is kept, as Buffer.toString keeps it: the text is what Marathon sent.
  const decoder = keepBody ? new TextDecoder("utf-8", { ignoreBOM: true }) : undefined;
  let body = "";
  let size = 0;
  const tooLong = () =>
    new HttpFailure(
      `answered ${formatBytes(size)}, more than this runtime can hold as text`,
      false,
      ExitCode.marathonData,
    );
  const decode = (chunk?: Buffer) => {
    try {
      body += decoder?.decode(chunk, { stream: chunk !== undefined }) ?? "";
    } catch {
      throw tooLong();
    }
  };
  try {
    await response.read((chunk) => {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      decode(chunk);
      try {
        parser.write(chunk);
      } catch (error) {
        // A body kept as text (not a JSON object, or the frame of one) can outgrow a string.
        throw error instanceof RangeError ? tooLong() : dataFailure(error, origin);
      }
    });
  } finally {
    response.close();
  }
  decode();
  const text = parser.unparsedText();
  if (text !== undefined && !/^\s*[[{]/.test(text)) {
    const contentType = String(response.headers["content-type"] ?? "");
    const title = /<title>([^<]{1,80})<\/title>/i.exec(text)?.[1]?.trim();
    throw new HttpFailure(
      `this is not Marathon's API (it answered ${contentType || "without a content type"}${title ? `: "${title}"` : ""}); check the address and port`,
      false,
      ExitCode.marathonData,
    );
  }
  try {
    return { snapshot: parser.end(), ...(decoder ? { body } : {}) };
  } catch (error) {
    throw dataFailure(error, origin);
  }
}

/** One GET of `path` (a snapshot) from one address, read within the timeout and the size bound, and parsed. */
async function attempt(
  endpoint: MarathonEndpoint,
  options: ClientOptions,
  path: string,
  keepBody: boolean,
): Promise<FetchedSnapshot> {
  const response = await get(endpoint, path, {
    accept: "application/json",
    timeoutMs: options.timeoutMs,
    ...(options.ca ? { ca: options.ca } : {}),
    // Bounds connect, headers and the body read alike.
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const read = await readSnapshot(
    response,
    options.maxResponseBytes,
    `Marathon at ${endpoint.url}`,
    keepBody,
  );
  return { ...read, source: endpoint.url };
}

/** Reports an attempt that takes longer than `slowMs`, once, unless it settles first. */
async function reportingSlowness<T>(work: Promise<T>, slowMs: number, say: () => void): Promise<T> {
  const timer = setTimeout(say, slowMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * GET /v2/apps?embed=apps.tasks from the first Marathon that answers with a usable snapshot.
 * Addresses are tried in order; connection errors, timeouts, 5xx and truncated answers are retried
 * in bounded rounds with jittered backoff; an answer that is not Marathon's skips that address.
 * 401/403 stop at once. Each retry, and each attempt slower than `slowMs`, is said on stderr.
 */
export async function fetchSnapshot(
  endpoints: MarathonEndpoint[],
  options: ClientOptions,
  { path = appsPath, keepBody = false }: SnapshotRequest = {},
): Promise<FetchedSnapshot> {
  const failures = new Map<string, HttpFailure>();
  const skip = new Set<string>();
  const rounds = options.retries + 1;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) {
      const base = Math.min((options.backoffMs ?? 500) * 2 ** (round - 1), 5_000);
      await sleep(base / 2 + Math.random() * (base / 2));
    }
    for (const endpoint of endpoints) {
      if (skip.has(endpoint.url)) continue;
      const waiting = `waiting for Marathon at ${endpoint.url}: attempt ${round + 1} of ${rounds}`;
      const last = failures.get(endpoint.url);
      if (last) log.info(`${waiting} (last: ${last.message})`);
      try {
        return await reportingSlowness(
          attempt(endpoint, options, path, keepBody),
          options.slowMs ?? 2_000,
          () => {
            if (!last) log.info(waiting);
          },
        );
      } catch (error) {
        if (!(error instanceof HttpFailure)) throw error;
        if (error.status === 404 && path !== appsPath) throw error;
        if (error.exitCode === ExitCode.marathonAuth) {
          throw new MhcError(`Marathon at ${endpoint.url} ${error.message}`, ExitCode.marathonAuth);
        }
        failures.set(endpoint.url, error);
        if (!error.retryable) skip.add(endpoint.url);
        log.debug(`Marathon ${endpoint.url}: ${error.message}`);
      }
    }
    if (skip.size === endpoints.length) break;
  }
  const detail = [...failures].map(([url, failure]) => `${url} (${failure.message})`).join(", ");
  // Data errors win: an address that answered with the wrong thing is the mistake to fix first.
  if ([...failures.values()].some((f) => f.exitCode === ExitCode.marathonData))
    throw new MhcError(`no usable answer from Marathon: ${detail}`, ExitCode.marathonData);
  throw new MhcError(`Marathon unreachable: ${detail}`, ExitCode.marathonUnreachable);
}

/**
 * GET /v2/apps/<id>?embed=app.tasks, as fetchSnapshot reads the whole list (same retries and
 * bounds): one app and its tasks, or undefined when Marathon no longer has it (404).
 */
export async function fetchApp(
  endpoints: MarathonEndpoint[],
  options: ClientOptions,
  id: string,
): Promise<MarathonApp | undefined> {
  const path = `/v2/apps/${id.split("/").filter(Boolean).map(encodeURIComponent).join("/")}?embed=app.tasks`;
  try {
    const { snapshot } = await fetchSnapshot(endpoints, options, { path });
    const app = snapshot.apps[0];
    if (snapshot.shape !== "apps" || snapshot.apps.length !== 1 || app?.id !== id)
      throw new MhcError(`Marathon answered ${path} with another app`, ExitCode.marathonData);
    return app;
  } catch (error) {
    if (error instanceof HttpFailure && error.status === 404) return undefined;
    throw error;
  }
}
