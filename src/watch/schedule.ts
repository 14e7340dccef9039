import type { Wait } from "../args/duration.ts";

/**
 * When the watcher syncs, as pure bookkeeping over timestamps (no timers, so it is tested with
 * plain numbers). Change signals (events, a stream reconnect) are coalesced as consul-template's
 * `wait {min, max}` does: a sync is due once no signal came for `min`, but no later than `max`
 * after the first pending signal, so a burst gives one sync and a steady stream one every `max`.
 * A full resync is due `resyncMs` after the last full sync started, signals or not; in incremental
 * mode the syncs in between apply events, and a reconnect makes the next sync a full one too.
 */
export class SyncSchedule {
  private firstPendingAt: number | undefined;
  private lastPendingAt = 0;
  private pending = new Map<string, number>();
  private lastFullAt: number;

  constructor(
    private readonly wait: Wait,
    private readonly resyncMs: number,
    now: number,
  ) {
    this.lastFullAt = now;
  }

  /** Records a change signal, e.g. "event" or "reconnect". */
  signal(now: number, kind = "event"): void {
    this.firstPendingAt ??= now;
    this.lastPendingAt = now;
    this.pending.set(kind, (this.pending.get(kind) ?? 0) + 1);
  }

  /** When the next sync is due, in the same clock as `now`. */
  dueAt(): number {
    const resync = this.lastFullAt + this.resyncMs;
    if (this.firstPendingAt === undefined) return resync;
    return Math.min(resync, this.lastPendingAt + this.wait.minMs, this.firstPendingAt + this.wait.maxMs);
  }

  isDue(now: number): boolean {
    return now >= this.dueAt();
  }

  /** Whether the next sync must read everything: the resync period is up, or the stream reconnected. */
  fullDue(now: number): boolean {
    return now >= this.lastFullAt + this.resyncMs || this.pending.has("reconnect");
  }

  /**
   * A sync starts (`full`: it fetches everything): it covers all signals so far; signals that
   * arrive while it runs are pending for the next one. Returns why it runs, e.g. "3 events, reconnect".
   */
  syncStarted(now: number, full = true): string {
    const reason =
      this.pending.size === 0
        ? "periodic resync"
        : [...this.pending].map(([kind, n]) => (n === 1 ? kind : `${n} ${kind}s`)).join(", ");
    this.firstPendingAt = undefined;
    this.pending.clear();
    if (full) this.lastFullAt = now;
    return reason;
  }
}
