import { createServer, isIP } from "node:net";
import { type Listener, listeners } from "./config.ts";

/**
 * The listeners of `candidate` that cannot be bound on this host now (a port another process holds,
 * an address the host does not have), found by binding each one for an instant before any reload.
 * `haproxy -c` cannot see this, and a reload that fails on it costs connections in every reload mode.
 * Only ports that the running config does not use are tried: the running HAProxy holds those itself.
 * An address that is not an IP (a host name) or a port mhc may not bind (EACCES) is left to HAProxy.
 */
export async function unbindableListeners(candidate: string, running: string | undefined): Promise<string[]> {
  const held = new Set(listeners(running ?? "").map((l) => l.port));
  const fresh = new Map<string, Listener>();
  for (const listener of listeners(candidate)) {
    if (!held.has(listener.port)) fresh.set(`${listener.host}:${listener.port}`, listener);
  }
  const refused: string[] = [];
  for (const listener of fresh.values()) {
    const reason = await tryBind(listener);
    if (reason) refused.push(`${formatListener(listener)} (${reason})`);
  }
  return refused;
}

function formatListener({ host, port }: Listener): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host || "*"}:${port}`;
}

const unknowable = new Set(["EACCES", "EPERM"]);

function tryBind({ host, port }: Listener): Promise<string | undefined> {
  const any = host === "" || host === "*";
  if (!any && isIP(host) === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "error";
      resolve(unknowable.has(code) ? undefined : code === "EADDRINUSE" ? "in use by another process" : code);
    });
    server.listen({ host: any ? "0.0.0.0" : host, port, exclusive: true }, () => {
      server.close(() => resolve(undefined));
    });
  });
}
