import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, connect, createServer } from "node:net";

/** Whether nothing listens on 127.0.0.1:port right now (bind, close). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * The lowest port the kernel hands out by itself, for outgoing connections and `bind :0` alike
 * (Linux's ip_local_port_range; elsewhere its default, below the BSDs' and Windows' 49152).
 */
function lowestEphemeralPort(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux
  }
  return 32768;
}

const handedOut = new Set<number>();
const slices = 8;

/**
 * This test worker's ports: a slice of 10,000 up to the kernel's own range. Workers run in
 * parallel, each its own slice (by vitest's pool id), so two never hand out the same port.
 */
function portSlice(): { from: number; size: number } {
  const size = Math.floor((lowestEphemeralPort() - 10_000) / slices);
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  return { from: 10_000 + ((Number.isInteger(worker) ? worker - 1 : 0) % slices) * size, size };
}

/**
 * A currently free TCP port on 127.0.0.1, below the kernel's own range: a port from `bind :0`,
 * closed again until HAProxy binds it, could meanwhile become the local end of any outgoing
 * connection of the parallel tests (a deploy once failed on "cannot bind … in use").
 */
export async function freePort(): Promise<number> {
  const { from, size } = portSlice();
  for (let attempt = 0; size > 0 && attempt < 100; attempt++) {
    const port = from + Math.floor(Math.random() * size);
    if (handedOut.has(port)) continue;
    // Taken before the check: calls made at once (Promise.all) must not pick the same port.
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  return kernelPort();
}

/** A port the kernel picks (bind :0, read, close): the fallback when no port below its range is free. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Backend {
  port: number;
  name: string;
  close(): Promise<void>;
}

/** A tiny HTTP server on 127.0.0.1 that answers every request with its own name. */
export function startNamedHttpServer(name: string): Promise<Backend> {
  return new Promise((resolve) => {
    const server: Server = createHttpServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.setHeader("connection", "close");
      res.end(`${name} ${req.headers.host ?? ""} ${req.url}\n`);
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        name,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

/** A TCP server on 127.0.0.1 that writes its name and closes: the simplest TCP backend. */
export function startNamedTcpServer(name: string): Promise<Backend> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.end(`${name}\n`);
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ port, name, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

/** Connects, reads until the peer closes, returns what it said. */
export function tcpRead(port: number, host = "127.0.0.1", timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = connect({ port, host });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error("tcp read timed out")));
    socket.on("data", (chunk) => {
      data += chunk.toString();
    });
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

/** One HTTP GET through a port with a chosen Host header. */
export async function httpGet(
  port: number,
  path = "/",
  host?: string,
): Promise<{ status: number; body: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        headers: host ? { host, connection: "close" } : { connection: "close" },
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error("http request timed out")));
    req.on("error", reject);
    req.end();
  });
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** With `tls`: the CN of the certificate the server presented. */
  certificateName?: string;
}

/** One request with full control: headers, source address, and TLS with a chosen SNI name. */
export async function httpRequest(options: {
  port: number;
  path?: string;
  headers?: Record<string, string>;
  localAddress?: string;
  tls?: { servername: string };
}): Promise<HttpAnswer> {
  const { request } = options.tls ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: options.port,
        path: options.path ?? "/",
        headers: { connection: "close", ...options.headers },
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...(options.tls ? { servername: options.tls.servername, rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = "";
        const socket = res.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } };
        const certificateName = socket.getPeerCertificate?.().subject?.CN;
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ...(certificateName ? { certificateName } : {}),
          }),
        );
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error("http request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** An HTTP server on 127.0.0.1 that answers every request with a redirect to `location`. */
export function startRedirectingHttpServer(location: string): Promise<Backend> {
  return new Promise((resolve) => {
    const server: Server = createHttpServer((_req, res) => {
      res.writeHead(302, { location, connection: "close" });
      res.end();
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ port, name: "redirecting", close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}
