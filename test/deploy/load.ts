import { request } from "node:http";

export interface LoadResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** Requests answered per backend name. */
  answeredBy: Record<string, number>;
}

/**
 * Keeps `concurrency` clients busy, each sending one request per NEW connection through `port`,
 * until `stop()` is called, `maxRequests` were sent or `maxMs` passed (whichever comes first).
 */
export function startLoad(port: number, { concurrency = 4, maxRequests = 200_000, maxMs = 60_000 } = {}) {
  const result: LoadResult = { ok: 0, failed: 0, errors: {}, answeredBy: {} };
  const deadline = Date.now() + maxMs;
  let sent = 0;
  let stopped = false;
  const fail = (reason: string) => {
    result.failed++;
    result.errors[reason] = (result.errors[reason] ?? 0) + 1;
  };
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/", agent: false, headers: { connection: "close" } },
        (res) => {
          let body = "";
          res.on("data", (chunk) => {
            body += chunk;
          });
          res.on("end", () => {
            if (res.statusCode === 200) {
              result.ok++;
              const name = body.split(" ")[0] ?? "";
              result.answeredBy[name] = (result.answeredBy[name] ?? 0) + 1;
            } else {
              fail(`HTTP ${res.statusCode}`);
            }
            resolve();
          });
          res.on("error", (error: NodeJS.ErrnoException) => {
            fail(error.code ?? error.message);
            resolve();
          });
        },
      );
      req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
      req.on("error", (error: NodeJS.ErrnoException) => {
        fail(error.code ?? error.message);
        resolve();
      });
      req.end();
    });
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      sent++;
      await once();
    }
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(workers);
      return result;
    },
  };
}
