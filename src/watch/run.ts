import process from "node:process";
import { setTimeout } from "node:timers";
import type { MarathonConnection } from "../commands/_shared.ts";
import { log, timestampWhenLogged } from "../log.ts";
import type { WatchSettings } from "./args.ts";
import { stopOnSignals } from "./signals.ts";
import type { StatusFile } from "./status.ts";
import { defaultStopGraceMs, runWatch, type SyncOutcome } from "./watcher.ts";

/**
 * Runs the watch loop for a command until SIGINT/SIGTERM, then exits 0. The status file is
 * written once before anything else, so an unwritable path fails at start, not silently later.
 */
export async function watchUntilSignalled(
  settings: WatchSettings,
  connection: MarathonConnection,
  status: StatusFile,
  runSync: (reason: string) => Promise<SyncOutcome>,
): Promise<void> {
  timestampWhenLogged();
  await status.update({}, true);
  const signals = stopOnSignals();
  try {
    const outcome = await runWatch({
      ...settings,
      stream: {
        endpoints: connection.endpoints,
        timeoutMs: connection.options.timeoutMs,
        ...(connection.options.ca ? { ca: connection.options.ca } : {}),
      },
      stop: signals.signal,
      stopGraceMs: defaultStopGraceMs,
      status,
      runSync,
    });
    log.info(outcome === "stopped" ? "stopped" : "stopped, abandoning the running sync");
  } finally {
    signals.dispose();
  }
  process.exitCode = 0;
  // A stream read some runtimes leave pending, or an abandoned git process, must not keep mhc alive.
  setTimeout(() => process.exit(0), 1_000).unref();
}
