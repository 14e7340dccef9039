import { formatDuration, type Wait } from "../args/duration.ts";
import type { MarathonEvent } from "../core/incremental.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { MarathonEndpoint } from "../marathon/address.ts";
import { type Backoff, watchEvents } from "../marathon/events.ts";
import { SyncSchedule } from "./schedule.ts";
import type { StatusFile } from "./status.ts";

/** What one sync reports to the watcher; a thrown error counts as a failed sync. */
export interface SyncOutcome {
  ok: boolean;
  /** The target changed (commit pushed, file written). */
  changed: boolean;
  message: string;
  commit?: string;
}

/** What a sync is asked to do: read everything (`full`), or apply the events since the last sync. */
export interface SyncTrigger {
  full: boolean;
  events: MarathonEvent[];
}

/** Events kept for the next sync at most; past that, the next sync reads everything instead. */
const maxPendingEvents = 100_000;

export interface WatchOptions {
  wait: Wait;
  resyncMs: number;
  idleTimeoutMs: number;
  stream: { endpoints: MarathonEndpoint[]; timeoutMs: number; ca?: string; backoff?: Backoff };
  /** Aborted on SIGINT/SIGTERM: no new sync starts, the running one may finish. */
  stop: AbortSignal;
  /** How long a running sync may take to finish after `stop`. */
  stopGraceMs: number;
  status: StatusFile;
  /** Keep the events for the syncs to apply, and read everything only at start, reconnect and resync. */
  incremental?: boolean;
  runSync(reason: string, trigger: SyncTrigger): Promise<SyncOutcome>;
}

/** Default bound for finishing a running sync after SIGINT/SIGTERM. */
export const defaultStopGraceMs = 30_000;

/**
 * The watch loop: one sync at start, then one per coalesced burst of change signals (events, a
 * stream reconnect) and one every resync period. Syncs never overlap. A failed sync is logged and
 * retried at the next trigger; only `stop` ends the loop. Returns "abandoned" when a sync was still
 * running when the stop grace period ran out.
 */
export async function runWatch(options: WatchOptions): Promise<"stopped" | "abandoned"> {
  const { status, stop } = options;
  const schedule = new SyncSchedule(options.wait, options.resyncMs, Date.now());
  const wake = new Wake();
  const streamStop = new AbortController();
  // The first sync waits for the first connection attempt; a connection made after that may have
  // missed events, so it is a change signal.
  let firstAttemptDone = false;
  let settleFirstAttempt = () => {};
  const firstAttempt = new Promise<void>((resolve) => {
    settleFirstAttempt = () => {
      firstAttemptDone = true;
      resolve();
    };
  });
  let events: MarathonEvent[] = [];
  let eventsOverflowed = false;
  const onStop = () => wake.notify();
  stop.addEventListener("abort", onStop);

  const stream = watchEvents({
    ...options.stream,
    idleTimeoutMs: options.idleTimeoutMs,
    signal: streamStop.signal,
    onEvent: (type, data) => {
      log.debug(`event ${type}`);
      if (options.incremental) {
        if (events.length < maxPendingEvents) events.push({ type, data });
        else eventsOverflowed = true;
      }
      status.note({ lastEventAt: new Date().toISOString() });
      schedule.signal(Date.now());
      wake.notify();
    },
    onConnected: (source) => {
      log.info(`event stream connected to ${source}`);
      void status.update({ streamConnected: true, streamSource: source });
      if (firstAttemptDone) {
        schedule.signal(Date.now(), "reconnect");
        wake.notify();
      }
      settleFirstAttempt();
    },
    onDisconnected: (reason, retryInMs) => {
      log.warn(`event stream ${reason}; reconnecting in ${formatDuration(retryInMs)}`);
      if (status.current.streamConnected) void status.update({ streamConnected: false });
      settleFirstAttempt();
    },
  });

  let result: "stopped" | "abandoned" = "stopped";
  try {
    // Subscribe before the first sync, so no change falls between its fetch and the subscription.
    await Promise.race([firstAttempt, aborted(stop)]);
    for (let first = true; !stop.aborted; first = false) {
      const now = Date.now();
      const full = !options.incremental || first || eventsOverflowed || schedule.fullDue(now);
      const pending = schedule.syncStarted(now, full);
      const reason = first ? "start" : pending;
      // A full read covers every event so far (they serve to check the kept model against it);
      // events that arrive while a sync runs go to the next one.
      const trigger: SyncTrigger = { full, events };
      events = [];
      eventsOverflowed = false;
      const finished = await finishWithinGrace(
        syncAndRecord(options, reason, trigger),
        stop,
        options.stopGraceMs,
      );
      if (!finished) {
        log.error(
          `the running sync did not finish within ${formatDuration(options.stopGraceMs)} of the stop signal; exiting anyway`,
        );
        result = "abandoned";
        break;
      }
      while (!stop.aborted && !schedule.isDue(Date.now())) await wake.sleep(schedule.dueAt() - Date.now());
    }
  } finally {
    stop.removeEventListener("abort", onStop);
    streamStop.abort();
    await stream;
    await status.update({ watching: false, streamConnected: false });
  }
  return result;
}

async function syncAndRecord(options: WatchOptions, reason: string, trigger: SyncTrigger): Promise<void> {
  const { status } = options;
  const startedAt = new Date().toISOString();
  let outcome: SyncOutcome;
  try {
    outcome = await options.runSync(reason, trigger);
  } catch (error) {
    outcome = { ok: false, changed: false, message: errorMessage(error) };
  }
  const now = new Date().toISOString();
  const current = status.current;
  if (outcome.ok) {
    log.info(`sync (${reason}): ${outcome.message}`);
    await status.update({
      lastAttemptAt: startedAt,
      lastSuccessAt: now,
      lastResult: outcome.message,
      consecutiveFailures: 0,
      syncs: current.syncs + 1,
      ...(outcome.changed ? { lastChangeAt: now } : {}),
      ...(outcome.commit ? { lastCommit: outcome.commit } : {}),
    });
  } else {
    log.error(`sync (${reason}): ${outcome.message}; retrying at the next change or resync`);
    await status.update({
      lastAttemptAt: startedAt,
      lastResult: outcome.message,
      lastError: outcome.message,
      lastErrorAt: now,
      consecutiveFailures: current.consecutiveFailures + 1,
      syncs: current.syncs + 1,
      failures: current.failures + 1,
    });
  }
}

/** Waits for `work`; once `stop` fires, waits at most `graceMs` more. False when that ran out. */
function finishWithinGrace(work: Promise<void>, stop: AbortSignal, graceMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const startGrace = () => {
      timer = setTimeout(() => resolve(false), graceMs);
    };
    if (stop.aborted) startGrace();
    else stop.addEventListener("abort", startGrace, { once: true });
    void work.then(() => {
      clearTimeout(timer);
      stop.removeEventListener("abort", startGrace);
      resolve(true);
    });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A sleep that `notify()` cuts short (a new event, a stop signal). */
class Wake {
  private wakeUp: (() => void) | undefined;

  notify(): void {
    this.wakeUp?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }
}
