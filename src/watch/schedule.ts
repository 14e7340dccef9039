import type { Wait } from "../args/duration.ts";

/**
 * When the watcher syncs, as pure bookkeeping over timestamps (no timers, so it is tested with
 * plain numbers). Change signals (events, a stream reconnect) are coalesced as consul-template's
 * `wait {min, max}` does: a sync is due once no signal came for `min`, but no later than `max`
 * after the first pending signal, so a burst gives one sync and a steady stream one every `max`.
 * A full resync is due `resyncMs` after the last sync started, signals or not.
 */
export class SyncSchedule {
  private firstPendingAt: number | undefined;
  private lastPendingAt = 0;
  private pending = new Map<string, number>();
  private lastSyncAt: number;

  constructor(
    private readonly wait: Wait,
    private readonly resyncMs: number,
    now: number,
  ) {
    this.lastSyncAt = now;
  }

  /** Records a change signal, e.g. "event" or "reconnect". */
  signal(now: number, kind = "event"): void {
    this.firstPendingAt ??= now;
    this.lastPendingAt = now;
    this.pending.set(kind, (this.pending.get(kind) ?? 0) + 1);
  }

  /** When the next sync is due, in the same clock as `now`. */
  dueAt(): number {
    const resync = this.lastSyncAt + this.resyncMs;
    if (this.firstPendingAt === undefined) return resync;
    return Math.min(resync, this.lastPendingAt + this.wait.minMs, this.firstPendingAt + this.wait.maxMs);
  }

  isDue(now: number): boolean {
    return now >= this.dueAt();
  }

  /**
   * A sync starts: it fetches everything, so it covers all signals so far; signals that arrive
   * while it runs are pending for the next one. Returns why it runs, e.g. "3 events, reconnect".
   */
  syncStarted(now: number): string {
    const reason =
      this.pending.size === 0
        ? "periodic resync"
        : [...this.pending].map(([kind, n]) => (n === 1 ? kind : `${n} ${kind}s`)).join(", ");
    this.firstPendingAt = undefined;
    this.pending.clear();
    this.lastSyncAt = now;
    return reason;
  }
}
