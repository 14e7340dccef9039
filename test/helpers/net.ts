import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, connect, createServer } from "node:net";

/** A currently free TCP port on 127.0.0.1 (bind :0, read, close). */
export function freePort(): Promise<number> {
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
