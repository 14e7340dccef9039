import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";

export interface Reply {
  status?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Wait this long before answering (for timeout tests). */
  delayMs?: number;
  /** Send the headers and the first part of the body, then cut the connection. */
  truncateAt?: number;
  /** Send the headers and the first part of the body, then go silent (connection kept open). */
  stallAt?: number;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage["headers"];
}

export interface MarathonServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Replace how the server answers. */
  reply(handler: (req: IncomingMessage) => Reply | Promise<Reply>): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 standing in for Marathon; answers with whatever the test sets. */
export async function startMarathon(
  handler: (req: IncomingMessage) => Reply | Promise<Reply>,
): Promise<MarathonServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    const reply = await current(req);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    const body = reply.body ?? "";
    res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
    if (reply.stallAt !== undefined) {
      res.write(body.slice(0, reply.stallAt));
      return;
    }
    if (reply.truncateAt !== undefined) {
      res.write(body.slice(0, reply.truncateAt));
      res.socket?.destroy();
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    reply: (h) => {
      current = h;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * `startMarathon` for a test file whose servers all close after each test: call it once at the top
 * level and start servers with the function it returns.
 */
export function marathonsClosedAfterEach(): typeof startMarathon {
  const servers: MarathonServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (handler) => {
    const server = await startMarathon(handler);
    servers.push(server);
    return server;
  };
}

export const json = (value: unknown, status = 200): Reply => ({ status, body: JSON.stringify(value) });
