import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { waitForPort } from "./net.ts";

export function haproxyAvailable(): boolean {
  try {
    execFileSync("haproxy", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface RunningHaproxy {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a real HAProxy in the foreground (-db) on a config and waits until `port` accepts. */
export async function startHaproxy(configFile: string, port: number): Promise<RunningHaproxy> {
  const child = spawn("haproxy", ["-db", "-f", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (c) => {
    output += c;
  });
  child.stderr?.on("data", (c) => {
    output += c;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`haproxy exited early:\n${output}`);
      }),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
