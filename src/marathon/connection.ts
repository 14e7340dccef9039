import process from "node:process";
import { numberFlag, repeated, sizeFlag } from "../args/values.ts";
import { parseSnapshot, type Snapshot } from "../core/snapshot.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { readTextFile } from "../io/files.ts";
import { log } from "../log.ts";
import { type MarathonEndpoint, parseEndpoint } from "./address.ts";
import { type ClientOptions, fetchSnapshot } from "./client.ts";

/** The values of the Marathon flags (see `marathonArgs`) a command received. */
export interface MarathonArgValues {
  from?: string;
  auth?: string;
  token?: string;
  "ca-file"?: string;
  timeout?: string;
  retries?: string;
  "max-response"?: string;
}

export interface LoadedSnapshot {
  snapshot: Snapshot;
  /** Where it came from, without credentials: a Marathon URL or a file name. */
  source: string;
  /** The JSON text, when asked for (`keepBody`): a commit names its digest. */
  body?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Marathon addresses: positional arguments and --marathon (in that order), else MARATHON_URL. */
function marathonAddresses(positionals: string[], rawArgs: string[]): string[] {
  const given = [...positionals, ...repeated(rawArgs, "marathon")];
  if (given.length > 0) return given;
  return (process.env.MARATHON_URL ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface MarathonConnection {
  endpoints: MarathonEndpoint[];
  options: ClientOptions;
}

/** Marathon addresses, credentials and client settings from the flags, checked once. */
export async function marathonConnection(
  args: MarathonArgValues,
  positionals: string[],
  rawArgs: string[],
): Promise<MarathonConnection> {
  const addresses = marathonAddresses(positionals, rawArgs);
  if (addresses.length === 0) {
    throw new MhcError(
      "no Marathon address: pass host:port, --marathon URL, MARATHON_URL, or --from FILE",
      ExitCode.usage,
    );
  }
  const credentials = {
    basic: args.auth ?? process.env.MARATHON_AUTH,
    token: args.token ?? process.env.MARATHON_TOKEN,
  };
  const endpoints = addresses.map((a) => parseEndpoint(a, credentials));
  const ca = args["ca-file"] ? await readTextFile(args["ca-file"], "--ca-file") : undefined;
  return {
    endpoints,
    options: {
      timeoutMs: numberFlag(args.timeout, "timeout", { min: 0.05, max: 3600, integer: false }) * 1000,
      retries: numberFlag(args.retries, "retries", { min: 0, max: 20, integer: true }),
      maxResponseBytes: sizeFlag(args["max-response"] ?? "1g", "max-response"),
      ...(ca ? { ca } : {}),
    },
  };
}

/** The snapshot from Marathon; with `keepBody`, also its JSON text (else it is parsed as it arrives, never held whole). */
export async function fetchFromConnection(
  connection: MarathonConnection,
  keepBody = false,
): Promise<LoadedSnapshot> {
  const fetched = await fetchSnapshot(connection.endpoints, connection.options, { keepBody });
  log.debug(`read ${fetched.snapshot.apps.length} apps from ${fetched.source}`);
  return fetched;
}

/** The snapshot from --from (a file, or - for stdin) or else from Marathon; `keepBody` as fetchFromConnection. */
export async function loadSnapshot(
  args: MarathonArgValues,
  positionals: string[],
  rawArgs: string[],
  keepBody = false,
): Promise<LoadedSnapshot> {
  // The commands refuse --from with a Marathon address or flag up front; MARATHON_URL is a default it overrides.
  if (args.from !== undefined) {
    const body = args.from === "-" ? await readStdin() : await readTextFile(args.from, "--from file");
    const source = args.from === "-" ? "stdin" : args.from;
    return { snapshot: parseSnapshot(body, source), source, ...(keepBody ? { body } : {}) };
  }
  return fetchFromConnection(await marathonConnection(args, positionals, rawArgs), keepBody);
}
