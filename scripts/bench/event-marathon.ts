/**
 * A stand-in Marathon for the watch benchmark, in a process of its own so the benchmark runner
 * stays small: it serves a cluster (a generated snapshot file) as /v2/apps?embed=apps.tasks and
 * /v2/apps/<id>?embed=app.tasks, streams /v2/events, and counts the bytes it serves.
 *
 *   bun scripts/bench/event-marathon.ts SNAPSHOT_FILE SEED
 *
 * Prints {"url": ...} once listening. Control endpoints for the benchmark runner:
 *   POST /bench/burst?apps=N  a task starts and a task is killed in each of N apps spread over the
 *                             cluster (2 × N status_update_events, sent at once); answers
 *                             {"events": n, "lastEventAt": epoch ms}
 *   GET  /bench/counters      {"bytes": n, "eventBytes": n, "fullReads": n, "appReads": n}
 */
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { SimulatedCluster } from "./cluster.ts";
import type { SyntheticSnapshot } from "./generate.ts";

const [file, seedText] = process.argv.slice(2);
if (!file || !seedText) {
  process.stderr.write("usage: event-marathon.ts SNAPSHOT_FILE SEED\n");
  process.exit(2);
}
const cluster = new SimulatedCluster(
  JSON.parse(readFileSync(file, "utf8")) as SyntheticSnapshot,
  Number(seedText),
);
/** The serialised cluster, kept until the cluster changes (Marathon caches nothing like this, so
 * this flatters the full read, if anything). */
let fullBody: Buffer | undefined;
/** Bytes of /v2/apps answers and of events sent, and how many reads of each kind. */
const counters = { bytes: 0, eventBytes: 0, fullReads: 0, appReads: 0 };
const streams = new Set<ServerResponse>();
let burst = 0;

function answer(res: ServerResponse, status: number, body: Buffer | string) {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  counters.bytes += bytes.length;
  res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length }).end(bytes);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/v2/apps" && url.searchParams.get("embed") === "apps.tasks") {
    counters.fullReads++;
    fullBody ??= Buffer.from(JSON.stringify(cluster.snapshot));
    return answer(res, 200, fullBody);
  }
  if (url.pathname.startsWith("/v2/apps/")) {
    counters.appReads++;
    const found = cluster.appJson(decodeURIComponent(url.pathname.slice("/v2/apps".length)));
    return found ? answer(res, 200, JSON.stringify(found)) : answer(res, 404, '{"message":"no such app"}');
  }
  if (url.pathname === "/v2/events") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    streams.add(res);
    const keepAlive = setInterval(() => res.write("\r\n"), 1_000);
    res.on("close", () => {
      clearInterval(keepAlive);
      streams.delete(res);
    });
    return;
  }
  if (url.pathname === "/bench/burst" && req.method === "POST") {
    const apps = Number(url.searchParams.get("apps") ?? "50");
    const total = cluster.snapshot.apps.length;
    const events = [];
    for (let i = 0; i < apps; i++) {
      // Spread over the cluster, and a different set of apps each burst.
      const index = Math.floor(((i + burst * 0.37) * total) / apps) % total;
      events.push(...cluster.startTask(index), ...cluster.killTask(index));
    }
    burst++;
    fullBody = undefined;
    const taskEvents = events.filter((e) => e.type === "status_update_event");
    const wire = taskEvents
      .map((e) => `event: ${e.type}\r\ndata: ${JSON.stringify({ eventType: e.type, ...e.data })}\r\n\r\n`)
      .join("");
    for (const stream of streams) stream.write(wire);
    counters.eventBytes += Buffer.byteLength(wire) * streams.size;
    const lastEventAt = Date.now();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ events: taskEvents.length, lastEventAt }));
    return;
  }
  if (url.pathname === "/bench/counters") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(counters));
    return;
  }
  res.writeHead(404).end();
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on("SIGTERM", () => {
  for (const stream of streams) stream.destroy();
  server.close(() => process.exit(0));
});
