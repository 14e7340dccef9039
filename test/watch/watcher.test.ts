import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/marathon/address.ts";
import { StatusFile } from "../../src/watch/status.ts";
import { runWatch, type SyncOutcome } from "../../src/watch/watcher.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { tempDir } from "../helpers/git.ts";
import { eventually, sleep } from "../helpers/wait.ts";

const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

/** The watch loop in-process, against a real local event stream, with `runSync` supplied by the test. */
async function loop(runSync: (reason: string) => Promise<SyncOutcome>, stopGraceMs = 5_000) {
  const m = await startEventMarathon({ apps: [] });
  marathons.push(m);
  const stop = new AbortController();
  const statusPath = join(tempDir("mhc-watch-"), "status.json");
  const status = new StatusFile(statusPath, { command: "sync", target: "https://bot:pw@git.example/x.git" });
  const done = runWatch({
    wait: { minMs: 50, maxMs: 200 },
    resyncMs: 60_000,
    idleTimeoutMs: 2_000,
    stream: { endpoints: [parseEndpoint(m.url, {})], timeoutMs: 2_000 },
    stop: stop.signal,
    stopGraceMs,
    status,
    runSync,
  });
  return { m, stop: () => stop.abort(), done, status: () => JSON.parse(readFileSync(statusPath, "utf8")) };
}

describe("watch loop", () => {
  it("runs one sync at a time, however many events arrive while one runs", async () => {
    let active = 0;
    let most = 0;
    let syncs = 0;
    const w = await loop(async () => {
      active++;
      most = Math.max(most, active);
      await sleep(150);
      active--;
      syncs++;
      return { ok: true, changed: false, message: "no change" };
    });
    await eventually(() => syncs === 1 && w.m.openStreams() === 1, "the first sync");
    const burstStart = Date.now();
    for (let i = 0; i < 50; i++) {
      w.m.send("status_update_event");
      await sleep(5);
    }
    const burstMs = Date.now() - burstStart;
    await eventually(() => syncs >= 2, "a sync for the events");
    await sleep(500);
    w.stop();
    expect(await w.done).toBe("stopped");
    expect(most).toBe(1);
    // Coalesced: the first sync, one per 200 ms wait window the burst spans (longer on a loaded
    // machine), and one for the tail; never one per event.
    expect(syncs).toBeLessThanOrEqual(2 + Math.ceil(burstMs / 200));
    expect(syncs).toBeLessThan(10);
  });

  it("keeps going after failed and throwing syncs, and says so in the status file", async () => {
    const results = [
      () => Promise.reject(new Error("Marathon unreachable: boom")),
      () => Promise.resolve({ ok: false, changed: false, message: "refused by gate no-apps" }),
      () => Promise.resolve({ ok: true, changed: true, message: "pushed abc", commit: "abc123" }),
    ];
    let calls = 0;
    const w = await loop(() =>
      (results[calls++] ?? (() => Promise.resolve({ ok: true, changed: false, message: "ok" })))(),
    );
    await eventually(() => calls === 1 && w.m.openStreams() === 1, "the first sync");
    w.m.send("status_update_event");
    await eventually(() => calls === 2, "the second sync");
    await eventually(() => w.status().failures === 2, "two failures recorded");
    expect(w.status()).toMatchObject({ consecutiveFailures: 2, lastError: "refused by gate no-apps" });
    w.m.send("status_update_event");
    await eventually(() => w.status().lastCommit === "abc123", "the success recorded");
    w.stop();
    await w.done;
    const status = w.status();
    expect(status).toMatchObject({ syncs: 3, failures: 2, consecutiveFailures: 0, watching: false });
    expect(status.target).toBe("https://***@git.example/x.git");
    expect(status.lastChangeAt).not.toBeNull();
  });

  it("gives a sync that hangs after the stop signal only the grace period", async () => {
    let started = 0;
    const w = await loop(() => {
      started++;
      return new Promise<SyncOutcome>(() => {}); // never finishes
    }, 200);
    await eventually(() => started === 1, "the sync");
    const at = Date.now();
    w.stop();
    expect(await w.done).toBe("abandoned");
    expect(Date.now() - at).toBeGreaterThanOrEqual(180);
    expect(Date.now() - at).toBeLessThan(2_000);
  });
});
