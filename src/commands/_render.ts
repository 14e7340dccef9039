import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { givenFlags, numberFlag, portNumber, repeated } from "../args/values.ts";
import { parseBindAddress, parseCertPath } from "../core/labels.ts";
import { defaultRenderOptions, type Model, type RenderOptions } from "../core/model.ts";
import { normalise } from "../core/normalise.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { parseTemplateFiles, type Templates } from "../core/templates.ts";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { readTextFile } from "../io/files.ts";
import { log } from "../log.ts";
import { marathonArgs } from "./_shared.ts";

/** The values of the flags in renderArgs, as any command that spreads them parses them. */
interface RenderFlagValues {
  head?: string;
  templates?: string;
  "http-port"?: string;
  "http-bind"?: string;
  "https-port"?: string;
  "https-bind"?: string;
  "ssl-certs"?: string;
  "group-https-by-vhost"?: boolean;
  "app-id-port"?: string;
  "app-id-bind"?: string;
  "stats-port"?: string;
  "stats-bind"?: string;
  "keep-unreachable"?: boolean;
  "strict-mode"?: boolean;
  "health-check"?: boolean;
  "ignore-path-without-vhost"?: boolean;
  "min-serv-port-ip-per-task"?: string;
  "max-serv-port-ip-per-task"?: string;
}

function ipPerTaskPorts(args: RenderFlagValues): RenderOptions["ipPerTaskPorts"] {
  const range = (flag: "min-serv-port-ip-per-task" | "max-serv-port-ip-per-task") =>
    numberFlag(
      args[flag] ?? String(defaultRenderOptions.ipPerTaskPorts[flag.startsWith("min") ? "min" : "max"]),
      flag,
      {
        min: 1,
        max: 65535,
        integer: true,
      },
    );
  const min = range("min-serv-port-ip-per-task");
  const max = range("max-serv-port-ip-per-task");
  if (min > max) {
    throw new MhcError(
      `--min-serv-port-ip-per-task ${min} is above --max-serv-port-ip-per-task ${max}`,
      ExitCode.usage,
    );
  }
  return { min, max };
}

/** A flag value checked by a label parser (the same rules as the label); a usage error otherwise. */
function checked<T>(
  value: string,
  flag: string,
  parse: (v: unknown) => { ok: true; value: T } | { ok: false; reason: string },
): T {
  const result = parse(value);
  if (!result.ok) throw new MhcError(`--${flag} "${value}" ${result.reason}`, ExitCode.usage);
  return result.value;
}

/**
 * `--templates DIR`: the `HAPROXY_<NAME>` files of a folder (as marathon-lb reads its templates
 * folder), checked before anything renders: a template mhc does not support or a variable a
 * template does not have is a usage error naming the file.
 */
async function readTemplates(dir: string): Promise<{ templates: Templates; head?: string }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.startsWith("HAPROXY_"));
  } catch (error) {
    throw new MhcError(`cannot read --templates folder ${dir}: ${errorMessage(error)}`, ExitCode.io, {
      cause: error,
    });
  }
  const files = new Map<string, string>();
  for (const name of names) files.set(name, await readTextFile(join(dir, name), "--templates file"));
  const parsed = parseTemplateFiles(files);
  if (!parsed.ok) throw new MhcError(`--templates ${dir}: ${parsed.reason}`, ExitCode.usage);
  return parsed.value;
}

/** The render options from the flags of `renderArgs`, checked once. */
export async function renderOptionsFrom(args: RenderFlagValues, rawArgs: string[]): Promise<RenderOptions> {
  const groups = repeated(rawArgs, "group").flatMap((g) =>
    g
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  if (args["group-https-by-vhost"] && !args["ssl-certs"]) {
    throw new MhcError(
      "--group-https-by-vhost needs --ssl-certs (the certificate of vhosts without SSL_CERT)",
      ExitCode.usage,
    );
  }
  const folder = args.templates ? await readTemplates(args.templates) : undefined;
  return {
    ...defaultRenderOptions,
    groups,
    httpPort: portNumber(args["http-port"], "http-port"),
    httpBindAddress: checked(args["http-bind"] ?? "*", "http-bind", parseBindAddress),
    httpsPort: portNumber(args["https-port"], "https-port"),
    httpsBindAddress: checked(args["https-bind"] ?? "*", "https-bind", parseBindAddress),
    ...(args["ssl-certs"] ? { sslCerts: checked(args["ssl-certs"], "ssl-certs", parseCertPath) } : {}),
    ...(args["group-https-by-vhost"] ? { groupHttpsByVhost: true } : {}),
    appIdPort: portNumber(args["app-id-port"], "app-id-port"),
    appIdBindAddress: checked(args["app-id-bind"] ?? "*", "app-id-bind", parseBindAddress),
    statsPort: portNumber(args["stats-port"], "stats-port"),
    statsBindAddress: checked(args["stats-bind"] ?? "127.0.0.1", "stats-bind", parseBindAddress),
    keepUnreachable: args["keep-unreachable"] === true,
    ...(folder?.head !== undefined ? { head: folder.head } : {}),
    ...(folder && Object.keys(folder.templates).length > 0 ? { templates: folder.templates } : {}),
    strictMode: args["strict-mode"] === true,
    healthCheck: args["health-check"] === true,
    ignorePathWithoutVhost: args["ignore-path-without-vhost"] === true,
    ipPerTaskPorts: ipPerTaskPorts(args),
    ...(args.head ? { head: await readTextFile(args.head, "--head file") } : {}),
  };
}

/** The flags that only say how to reach Marathon, which a saved snapshot does not. */
const marathonOnlyFlags = Object.keys(marathonArgs).filter((name) => name !== "from" && name !== "address");

/**
 * `--from FILE` with a Marathon address or a Marathon flag (`--auth`, `--timeout`, …) is a usage
 * error naming both: one of them would be ignored. The MARATHON_* variables are defaults, which
 * `--from` overrides.
 */
export function checkSnapshotSource(from: string | undefined, addresses: string[], rawArgs: string[]): void {
  if (from === undefined) return;
  // The address itself is not quoted: it may hold a password.
  if (addresses.length > 0)
    throw new MhcError(
      "--from and a Marathon address do not go together: --from reads a saved snapshot instead of Marathon",
      ExitCode.usage,
    );
  const flag = givenFlags(rawArgs, marathonOnlyFlags)[0];
  if (flag !== undefined)
    throw new MhcError(
      `--from and --${flag} do not go together: --from reads a saved snapshot, --${flag} is for reading Marathon`,
      ExitCode.usage,
    );
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
  if (snapshot.apps.length >= bigSnapshotApps) log.progress(`rendering ${snapshot.apps.length} apps`);
  const model = normalise(snapshot, options);
  for (const warning of model.warnings) if (!previous?.has(warning)) log.warn(warning);
  if (previous) {
    previous.clear();
    for (const warning of model.warnings) previous.add(warning);
  }
  return model;
}
