import { connect } from "node:net";

/**
 * One command on an HAProxy CLI socket (the master CLI of `-S`, or a `stats socket`, which serves
 * the runtime API): write it, half-close, read until HAProxy closes.
 */
export function socketCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const socket = connect(socketPath);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`HAProxy CLI ${socketPath} did not answer`)));
    socket.on("connect", () => socket.end(`${command}\n`));
    socket.on("data", (chunk) => {
      output += chunk.toString();
    });
    socket.on("end", () => resolve(output));
    socket.on("error", reject);
  });
}
