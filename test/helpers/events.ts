import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EventRequest {
  path: string;
  headers: IncomingMessage["headers"];
  at: number;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for a Marathon leader: /v2/apps?embed=apps.tasks
 * serves `apps` (JSON, changeable at any time), /v2/apps/<id>?embed=app.tasks one of them, and /v2/events a real text/event-stream that the
 * test pushes events into, keeps alive, silences or cuts.
 */
export interface EventMarathon {
  url: string;
  port: number;
  /** What /v2/apps serves: the test changes it, then signals with send(). */
  apps: unknown;
  /** Every request, in arrival order. */
  requests: EventRequest[];
  appsRequests(): EventRequest[];
  eventsRequests(): EventRequest[];
  /** Streams currently open. */
  openStreams(): number;
  /** Writes one event (Marathon's wire format) to every open stream. */
  send(type: string, data?: Record<string, unknown>): void;
  /** Cuts every open stream (as a crashed leader or a proxy would). */
  drop(): void;
  /** Bytes sent on each stream every this many ms (Marathon sends keep-alives); 0: silent. */
  keepAliveMs: number;
  /** Delay /v2/apps answers (a slow Marathon, for "mid-sync" tests). */
  appsDelayMs: number;
  /** When set, every request must carry exactly this Authorization header, else 401. */
  authorization?: string;
  close(): Promise<void>;
}

export async function startEventMarathon(apps: unknown): Promise<EventMarathon> {
  const streams = new Set<ServerResponse>();
  const state: EventMarathon = {
    url: "",
    port: 0,
    apps,
    requests: [],
    appsRequests: () => state.requests.filter((r) => r.path.startsWith("/v2/apps")),
    eventsRequests: () => state.requests.filter((r) => r.path.startsWith("/v2/events")),
    openStreams: () => streams.size,
    send(type, data = {}) {
      const payload = JSON.stringify({ eventType: type, timestamp: new Date().toISOString(), ...data });
      for (const res of streams) res.write(`event: ${type}\r\ndata: ${payload}\r\n\r\n`);
    },
    drop() {
      for (const res of streams) res.socket?.destroy();
      streams.clear();
    },
    keepAliveMs: 200,
    appsDelayMs: 0,
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    state.requests.push({ path: req.url ?? "", headers: req.headers, at: Date.now() });
    if (state.authorization !== undefined && req.headers.authorization !== state.authorization) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="Mesosphere"' }).end();
      return;
    }
    const one = /^\/v2\/apps(\/[^?]+)\?embed=app\.tasks$/.exec(req.url ?? "");
    if (one) {
      // GET /v2/apps/<id>?embed=app.tasks: one app of `apps`, or 404 as Marathon answers.
      const id = decodeURIComponent(one[1] as string);
      const app = ((state.apps as { apps?: { id?: string }[] }).apps ?? []).find((a) => a.id === id);
      if (app) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ app }));
      else
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(`{"message":"App '${id}' does not exist"}`);
      return;
    }
    if (req.url?.startsWith("/v2/apps")) {
      const body = JSON.stringify(state.apps);
      if (state.appsDelayMs) await new Promise((r) => setTimeout(r, state.appsDelayMs));
      if (!res.destroyed) res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    if (req.url?.startsWith("/v2/events")) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      streams.add(res);
      const keepAlive = setInterval(() => {
        if (state.keepAliveMs > 0) res.write("\r\n");
      }, state.keepAliveMs || 100);
      res.on("close", () => {
        clearInterval(keepAlive);
        streams.delete(res);
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((r) => {
      state.drop();
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/**
 * A Marathon follower: proxies nothing but redirects /v2/events to the leader (as Marathon 1.7+
 * does) and answers /v2/apps from the leader's state. A different port is a different origin, so
 * fetch's own redirect handling would drop the Authorization header here.
 */
export async function startFollower(
  leader: EventMarathon,
): Promise<{ url: string; requests: EventRequest[]; close(): Promise<void> }> {
  const requests: EventRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers, at: Date.now() });
    if (leader.authorization !== undefined && req.headers.authorization !== leader.authorization) {
      res.writeHead(401).end();
    } else if (req.url?.startsWith("/v2/events")) {
      res.writeHead(307, { location: `${leader.url}${req.url}` }).end();
    } else if (req.url?.startsWith("/v2/apps")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(leader.apps));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
