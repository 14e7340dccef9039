import { socketCommand } from "./socket.ts";

export interface ProcState {
  masterPid: number;
  /** Reloads the master has refused so far (HAProxy prints `[failed: N]`). */
  failedReloads: number;
  workerPids: number[];
}

/** Parses `show proc` (HAProxy 2.x): the master line, then one line per worker under `# workers`. */
function parseShowProc(output: string): ProcState | undefined {
  const master = /^(\d+)\s+master\s+\d+\s+\[failed:\s*(\d+)\]/m.exec(output);
  if (!master) return undefined;
  const workers = (output.split("# workers")[1] ?? "").split("# programs")[0] ?? "";
  const workerPids = [...workers.matchAll(/^(\d+)\s+worker\b/gm)].map((m) => Number(m[1]));
  return { masterPid: Number(master[1]), failedReloads: Number(master[2]), workerPids };
}

/** `show proc` parsed, or undefined when no master answers on the socket. */
export async function showProc(socketPath: string): Promise<ProcState | undefined> {
  try {
    return parseShowProc(await socketCommand(socketPath, "show proc"));
  } catch {
    return undefined;
  }
}
