import process from "node:process";
import { log } from "../log.ts";

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM. Installing the handlers replaces the
 * default "die at once", so the watcher can let a running sync finish. `dispose` removes them.
 */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log.info(`${name} received: stopping after the running sync, if any`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
