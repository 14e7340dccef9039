import process from "node:process";
import { setTimeout } from "node:timers";
import type { RenderOptions } from "../core/model.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { log, timestampWhenLogged } from "../log.ts";
import { fetchApp } from "../marathon/client.ts";
import { fetchFromConnection, type MarathonArgValues, marathonConnection } from "../marathon/connection.ts";
import type { WatchSettings } from "./args.ts";
import { stopOnSignals } from "./signals.ts";
import { type Rendered, RenderSource } from "./source.ts";
import { StatusFile, type WatchStatus } from "./status.ts";
import { defaultStopGraceMs, runWatch, type SyncOutcome } from "./watcher.ts";

export interface WatchCommand {
  command: WatchStatus["command"];
  /** What the command keeps up to date (repo or output file), for the status file. */
  target: string;
  settings: WatchSettings;
  /** The command's Marathon flags and addresses. */
  marathon: { args: MarathonArgValues; positionals: string[]; rawArgs: string[] };
  /** Flag combinations --watch cannot honour, checked in order: the first one given refuses. */
  refusals: [given: boolean, message: string][];
  /** How the command renders. */
  options: RenderOptions;
  /** One sync; `next` gives the config of Marathon's current state, `reason` says what triggered it. */
  sync(next: () => Promise<Rendered>, reason: string): Promise<SyncOutcome>;
}

/**
 * `--watch` for a command: refuses what cannot be watched, connects to Marathon, then syncs on
 * events and resyncs until SIGINT/SIGTERM, and exits 0. The status file is written once before
 * anything else, so an unwritable path fails at start, not silently later.
 */
export async function watchCommand(watch: WatchCommand): Promise<void> {
  const { args, positionals, rawArgs } = watch.marathon;
  const refusals: [boolean, string][] = [
    ...watch.refusals,
    [args.from !== undefined, "--watch follows Marathon's event stream; it cannot watch --from"],
  ];
  for (const [given, message] of refusals) if (given) throw new MhcError(message, ExitCode.usage);
  const connection = await marathonConnection(args, positionals, rawArgs);
  timestampWhenLogged();
  const status = new StatusFile(watch.settings.statusFile, {
    command: watch.command,
    target: watch.target,
    incremental: watch.settings.incremental,
  });
  await status.update({}, true);
  const source = new RenderSource({
    options: watch.options,
    incremental: watch.settings.incremental,
    // sync names the digest of each full read in its commit.
    loadAll: () => fetchFromConnection(connection, watch.command === "sync"),
    loadApp: (id) => fetchApp(connection.endpoints, connection.options, id),
    status,
  });
  const signals = stopOnSignals();
  try {
    const outcome = await runWatch({
      ...watch.settings,
      stream: {
        endpoints: connection.endpoints,
        timeoutMs: connection.options.timeoutMs,
        ...(connection.options.ca ? { ca: connection.options.ca } : {}),
      },
      stop: signals.signal,
      stopGraceMs: defaultStopGraceMs,
      status,
      runSync: (reason, trigger) => watch.sync(() => source.next(trigger), reason),
    });
    log.info(outcome === "stopped" ? "stopped" : "stopped, abandoning the running sync");
  } finally {
    signals.dispose();
  }
  process.exitCode = 0;
  // A stream read some runtimes leave pending, or an abandoned git process, must not keep mhc alive.
  setTimeout(() => process.exit(0), 1_000).unref();
}
