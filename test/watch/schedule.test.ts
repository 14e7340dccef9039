import { describe, expect, it } from "vitest";
import { SyncSchedule } from "../../src/watch/schedule.ts";

const wait = { minMs: 2_000, maxMs: 10_000 };
const resyncMs = 300_000;

/** Drives the schedule like the watch loop does, over a list of signal times; returns sync start times. */
function simulate(signals: number[], until: number, syncMs = 0): number[] {
  const schedule = new SyncSchedule(wait, resyncMs, 0);
  schedule.syncStarted(0);
  const syncs: number[] = [];
  let busyUntil = 0;
  let next = 0;
  for (let now = 0; now <= until; now += 10) {
    while (next < signals.length && (signals[next] as number) <= now) {
      schedule.signal(signals[next] as number);
      next++;
    }
    if (now >= busyUntil && schedule.isDue(now)) {
      schedule.syncStarted(now);
      syncs.push(now);
      busyUntil = now + syncMs;
    }
  }
  return syncs;
}

describe("sync schedule (coalescing with --wait MIN:MAX, --resync)", () => {
  it("a burst of 100 events in one second gives one sync, MIN after the last event", () => {
    const burst = Array.from({ length: 100 }, (_, i) => 1_000 + i * 10);
    expect(simulate(burst, 60_000)).toEqual([1_990 + 2_000]);
  });

  it("the same burst while a sync runs gives at most one more sync after it", () => {
    const burst = Array.from({ length: 100 }, (_, i) => 1_000 + i * 10);
    const syncs = simulate([...burst, 3_000], 60_000, 2_500);
    expect(syncs.length).toBeLessThanOrEqual(2);
  });

  it("a steady stream (an event every second) still syncs MAX after the first unsynced event", () => {
    const steady = Array.from({ length: 60 }, (_, i) => i * 1_000);
    const syncs = simulate(steady, 60_000);
    // The event at 10 s is covered by the sync at 10 s; the next pending one comes at 11 s.
    expect(syncs).toEqual([10_000, 21_000, 32_000, 43_000, 54_000]);
  });

  it("resyncs every --resync without events, counted from the last sync", () => {
    expect(simulate([], 700_000)).toEqual([300_000, 600_000]);
    expect(simulate([100_000], 500_000)).toEqual([102_000, 402_000]);
  });

  it("signals that arrive during a sync are kept for the next one; the reason says what triggered it", () => {
    const schedule = new SyncSchedule(wait, resyncMs, 0);
    schedule.signal(0);
    schedule.signal(5);
    schedule.signal(8, "reconnect");
    expect(schedule.isDue(2_007)).toBe(false);
    expect(schedule.isDue(2_008)).toBe(true);
    expect(schedule.syncStarted(2_008)).toBe("2 events, reconnect");
    schedule.signal(2_100); // arrives while that sync runs
    expect(schedule.dueAt()).toBe(4_100);
    expect(schedule.syncStarted(4_100)).toBe("event");
    expect(schedule.dueAt()).toBe(4_100 + resyncMs);
    expect(schedule.syncStarted(304_100)).toBe("periodic resync");
  });

  it("incremental: syncs in between apply events; the full read is due --resync after the last full one, or at a reconnect", () => {
    const schedule = new SyncSchedule(wait, resyncMs, 0);
    schedule.syncStarted(0, true);
    schedule.signal(60_000);
    expect(schedule.fullDue(62_000)).toBe(false);
    schedule.syncStarted(62_000, false);
    // An event sync does not postpone the resync: it is still due 300 s after the start.
    expect(schedule.dueAt()).toBe(resyncMs);
    expect(schedule.fullDue(resyncMs)).toBe(true);
    schedule.syncStarted(resyncMs, true);
    schedule.signal(resyncMs + 1_000, "reconnect");
    expect(schedule.fullDue(resyncMs + 3_000)).toBe(true);
  });
});
