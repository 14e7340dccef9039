import process from "node:process";
import type { ArgsDef } from "citty";
import { defaultRenderOptions, type Model, type RenderOptions } from "../core/model.ts";
import { normalise } from "../core/normalise.ts";
import { parseSnapshot, type Snapshot } from "../core/snapshot.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { readTextFile } from "../io/files.ts";
import { log } from "../log.ts";
import { type MarathonEndpoint, parseEndpoint } from "../marathon/address.ts";
import { type ClientOptions, fetchSnapshot } from "../marathon/client.ts";

/** Where the Marathon state comes from (spread into every command that reads Marathon). */
export const marathonArgs = {
  address: {
    type: "positional",
    required: false,
    valueHint: "MARATHON…",
    description: "Marathon addresses (host:port or URL), tried in order",
  },
  marathon: {
    type: "string",
    description: "Marathon address (repeatable; also positional args or MARATHON_URL, comma-separated)",
    valueHint: "url",
  },
  from: {
    type: "string",
    description: "Read a saved /v2/apps?embed=apps.tasks or /v2/tasks JSON instead of Marathon (- for stdin)",
    valueHint: "file",
  },
  auth: {
    type: "string",
    description: "HTTP basic auth for Marathon (or MARATHON_AUTH)",
    valueHint: "user:pass",
  },
  token: { type: "string", description: "DC/OS token, sent as Authorization: token=… (or MARATHON_TOKEN)" },
  "ca-file": {
    type: "string",
    description: "PEM file with the CA that signed Marathon's certificate",
    valueHint: "file",
  },
  timeout: {
    type: "string",
    description: "Seconds to wait for each Marathon request (connect and read)",
    default: "10",
  },
  retries: {
    type: "string",
    description: "Extra rounds over all addresses on connection errors and 5xx",
    default: "3",
  },
} as const satisfies ArgsDef;

/** How the config is rendered (spread into every command that renders). */
export const renderArgs = {
  group: {
    type: "string",
    description: "Only apps in this HAPROXY_GROUP (repeatable; * for all; default: all apps)",
  },
  head: {
    type: "string",
    description: "File replacing the built-in global/defaults section",
    valueHint: "file",
  },
  "http-port": {
    type: "string",
    description: "Port of the shared HTTP frontend that routes by VHOST/PATH",
    default: "80",
  },
  "http-bind": { type: "string", description: "Bind address of the shared HTTP frontend", default: "*" },
  "stats-port": { type: "string", description: "Port of the HAProxy stats page (0: none)", default: "9090" },
  "stats-bind": { type: "string", description: "Bind address of the stats page", default: "127.0.0.1" },
  "keep-unreachable": {
    type: "boolean",
    description: "Keep TASK_UNREACHABLE tasks as servers (HAProxy's checks decide)",
  },
} as const satisfies ArgsDef;

/** The HAProxy binary (validate, sync's validation, deploy). */
export const haproxyArgs = {
  haproxy: { type: "string", description: "HAProxy binary", default: "haproxy", valueHint: "bin" },
} as const satisfies ArgsDef;

/** Safety gates (sync, and render -o replacing an existing file). */
export const gateArgs = {
  "max-drop": {
    type: "string",
    description: "Refuse when more than this percent of all servers would disappear",
    default: "50",
  },
  force: { type: "boolean", description: "Publish even when a safety gate refuses" },
} as const satisfies ArgsDef;

export function maxDropPercent(value: string | undefined): number {
  return number(value, "max-drop", { min: 0, max: 100, integer: false });
}

/** All values of a repeatable flag, in order (citty keeps only the last one). */
export function repeated(rawArgs: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === "--") break;
    if (arg === `--${name}`) {
      const value = rawArgs[i + 1];
      if (value !== undefined) values.push(value);
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
    }
  }
  return values;
}

function number(
  value: string | undefined,
  flag: string,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number {
  const n = Number(value);
  if (
    value === undefined ||
    value.trim() === "" ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !Number.isInteger(n))
  ) {
    throw new MhcError(
      `--${flag} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, not "${value}"`,
      ExitCode.usage,
    );
  }
  return n;
}

/** An integer flag: `2.5` is refused, not rounded. */
export const integerFlag = (value: string | undefined, flag: string, min: number, max: number) =>
  number(value, flag, { min, max, integer: true });

const portNumber = (value: string | undefined, flag: string) =>
  number(value, flag, { min: 0, max: 65535, integer: true });

/** The values of the flags in renderArgs, as any command that spreads them parses them. */
interface RenderFlagValues {
  head?: string;
  "http-port"?: string;
  "http-bind"?: string;
  "stats-port"?: string;
  "stats-bind"?: string;
  "keep-unreachable"?: boolean;
}

export async function renderOptionsFrom(args: RenderFlagValues, rawArgs: string[]): Promise<RenderOptions> {
  const groups = repeated(rawArgs, "group").flatMap((g) =>
    g
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return {
    ...defaultRenderOptions,
    groups,
    httpPort: portNumber(args["http-port"], "http-port"),
    httpBindAddress: args["http-bind"] ?? "*",
    statsPort: portNumber(args["stats-port"], "stats-port"),
    statsBindAddress: args["stats-bind"] ?? "127.0.0.1",
    keepUnreachable: args["keep-unreachable"] === true,
    ...(args.head ? { head: await readTextFile(args.head, "--head file") } : {}),
  };
}

interface MarathonArgValues {
  from?: string;
  auth?: string;
  token?: string;
  "ca-file"?: string;
  timeout?: string;
  retries?: string;
  _?: string[];
}

export interface LoadedSnapshot {
  snapshot: Snapshot;
  /** Where it came from, without credentials: a Marathon URL or a file name. */
  source: string;
  /** The raw JSON text, for a digest. */
  body: string;
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
      timeoutMs: number(args.timeout, "timeout", { min: 0.05, max: 3600, integer: false }) * 1000,
      retries: number(args.retries, "retries", { min: 0, max: 20, integer: true }),
      ...(ca ? { ca } : {}),
    },
  };
}

export async function fetchFromConnection(connection: MarathonConnection): Promise<LoadedSnapshot> {
  const fetched = await fetchSnapshot(connection.endpoints, connection.options);
  log.debug(`read ${fetched.snapshot.apps.length} apps from ${fetched.source}`);
  return fetched;
}

export async function loadSnapshot(
  args: MarathonArgValues,
  positionals: string[],
  rawArgs: string[],
): Promise<LoadedSnapshot> {
  if (args.from !== undefined) {
    if (marathonAddresses(positionals, rawArgs).length > 0)
      throw new MhcError("give either Marathon addresses or --from, not both", ExitCode.usage);
    const body = args.from === "-" ? await readStdin() : await readTextFile(args.from, "--from file");
    const source = args.from === "-" ? "stdin" : args.from;
    return { snapshot: parseSnapshot(body, source), source, body };
  }
  return fetchFromConnection(await marathonConnection(args, positionals, rawArgs));
}

/** From this many apps a render takes long enough (about a second) to say what it is doing. */
const bigSnapshotApps = 5000;

/**
 * Normalises and reports warnings on stderr (never stdout). With `previous` (watch mode), warnings
 * the previous run already printed are not repeated on every sync.
 */
export function normaliseWithWarnings(
  snapshot: Snapshot,
  options: RenderOptions,
  previous?: Set<string>,
): Model {
  log.progress(`rendering ${snapshot.apps.length} apps`, snapshot.apps.length >= bigSnapshotApps);
  const model = normalise(snapshot, options);
  for (const warning of model.warnings) if (!previous?.has(warning)) log.warn(warning);
  if (previous) {
    previous.clear();
    for (const warning of model.warnings) previous.add(warning);
  }
  return model;
}
