import type { ArgsDef } from "citty";
import { parsePositiveDuration, parseWait, type Wait } from "../args/duration.ts";
import { repeated } from "../args/values.ts";
import { ExitCode, MhcError } from "../errors.ts";

/** Flags of `--watch` mode, shared by `mhc sync` and `mhc render`. */
export const watchArgs = {
  watch: {
    type: "boolean",
    description: "Keep running: sync at start, then on Marathon events (coalesced) and every --resync",
  },
  wait: {
    type: "string",
    description: "With --watch: sync after MIN without events, at most MAX after the first (ms, s, m, h)",
    default: "2s:10s",
    valueHint: "min:max",
  },
  resync: {
    type: "string",
    description: "With --watch: full resync this often, events or not",
    default: "5m",
    valueHint: "duration",
  },
  "idle-timeout": {
    type: "string",
    description: "With --watch: reconnect the event stream after this long without an event or keep-alive",
    default: "60s",
    valueHint: "duration",
  },
  incremental: {
    type: "boolean",
    description:
      "With --watch: apply events to the apps kept in memory and re-render only what changed (--no-incremental: read and render everything on every sync)",
    default: true,
  },
  "status-file": {
    type: "string",
    description: "With --watch: keep a JSON status (last success, commit, error) in FILE for monitoring",
    valueHint: "file",
  },
} as const satisfies ArgsDef;

export interface WatchSettings {
  wait: Wait;
  resyncMs: number;
  idleTimeoutMs: number;
  incremental: boolean;
  statusFile?: string;
}

interface WatchArgValues {
  watch?: boolean;
  wait?: string;
  resync?: string;
  "idle-timeout"?: string;
  incremental?: boolean;
  "status-file"?: string;
}

/** Parses the watch flags; refuses them without --watch, where they would silently do nothing. */
export function watchSettingsFrom(args: WatchArgValues, rawArgs: string[]): WatchSettings | undefined {
  if (!args.watch) {
    const given =
      Object.keys(watchArgs).find((name) => name !== "watch" && repeated(rawArgs, name).length > 0) ??
      ["no-incremental", "incremental"].find((name) => rawArgs.includes(`--${name}`));
    if (given) throw new MhcError(`--${given} only applies with --watch`, ExitCode.usage);
    return undefined;
  }
  return {
    wait: parseWait(args.wait ?? "2s:10s"),
    resyncMs: parsePositiveDuration(args.resync ?? "5m", "resync"),
    idleTimeoutMs: parsePositiveDuration(args["idle-timeout"] ?? "60s", "idle-timeout"),
    incremental: args.incremental !== false,
    ...(args["status-file"] ? { statusFile: args["status-file"] } : {}),
  };
}
