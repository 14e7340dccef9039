/** A stand-in Marathon on 127.0.0.1 that answers every GET with one prepared snapshot. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SnapshotServer {
  url: string;
  /** Replaces what the server answers. */
  serve(body: Buffer): void;
  close(): Promise<void>;
}

export async function startSnapshotServer(initial: Buffer): Promise<SnapshotServer> {
  let body = initial;
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (next) => {
      body = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
