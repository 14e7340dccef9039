import { numberFlag, portNumber, repeated } from "../args/values.ts";
import { defaultRenderOptions, type Model, type RenderOptions } from "../core/model.ts";
import { normalise } from "../core/normalise.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { readTextFile } from "../io/files.ts";
import { log } from "../log.ts";

interface RenderArgValues {
  head?: string;
  "http-port"?: string;
  "http-bind"?: string;
  "stats-port"?: string;
  "stats-bind"?: string;
  "keep-unreachable"?: boolean;
  "strict-mode"?: boolean;
  "health-check"?: boolean;
  "ignore-path-without-vhost"?: boolean;
  "min-serv-port-ip-per-task"?: string;
  "max-serv-port-ip-per-task"?: string;
}

function ipPerTaskPorts(args: RenderArgValues): RenderOptions["ipPerTaskPorts"] {
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

/** The render options from the flags of `renderArgs`, checked once. */
export async function renderOptionsFrom(args: RenderArgValues, rawArgs: string[]): Promise<RenderOptions> {
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
    strictMode: args["strict-mode"] === true,
    healthCheck: args["health-check"] === true,
    ignorePathWithoutVhost: args["ignore-path-without-vhost"] === true,
    ipPerTaskPorts: ipPerTaskPorts(args),
    ...(args.head ? { head: await readTextFile(args.head, "--head file") } : {}),
  };
}

/**
 * Normalises and reports warnings on stderr (never stdout). With `previous` (watch mode), warnings
 * the previous run already printed are not repeated on every sync.
 */
export function normaliseWithWarnings(
  snapshot: Snapshot,
  options: RenderOptions,
  previous?: Set<string>,
): Model {
  const model = normalise(snapshot, options);
  for (const warning of model.warnings) if (!previous?.has(warning)) log.warn(warning);
  if (previous) {
    previous.clear();
    for (const warning of model.warnings) previous.add(warning);
  }
  return model;
}
