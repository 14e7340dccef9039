import { ExitCode, MhcError } from "../../errors.ts";

export interface ReloadContext {
  haproxy: string;
  /** The installed config HAProxy must (re)load. */
  config: string;
  /** Text of the config the running HAProxy was started from, when known (for `-x`). */
  runningConfig?: string;
}

/** A reload strategy bound to its flag's value (a pid file, a command, a socket). */
export interface Reloader {
  /** The strategy's name, as the deploy record keeps it. */
  readonly kind: string;
  /** The flag's value, as given. */
  readonly value: string;
  /** Reloads (or first starts) HAProxy and checks that it took; returns what happened, for the log. */
  reload(context: ReloadContext): Promise<string>;
  /** The HAProxy this strategy reloads, if it runs; absent where the strategy cannot tell. */
  probe?(haproxy: string): Promise<RunningHaproxy | undefined>;
}

/** What `deploy --status` learns about the running HAProxy. */
export interface RunningHaproxy {
  /** The processes serving traffic (the pid file's, or the master's workers). */
  pids: number[];
  /** When the newest of them started (ms since the epoch): one older than the installed file has not loaded it. */
  startedAtMs: number | undefined;
  /** The configs it was started with (`-f` on its command line). */
  configs: string[];
}

/** The `-f FILE` arguments of an HAProxy command line. */
export function configArguments(argv: string[]): string[] {
  return argv.flatMap((arg, i) => (arg === "-f" && argv[i + 1] ? [argv[i + 1] as string] : []));
}

export function newestStart(
  pids: number[],
  startedAt: (pid: number) => number | undefined,
): number | undefined {
  const times = pids.map(startedAt).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/**
 * One way for HAProxy to learn about a new config. `mhc deploy` offers one flag per strategy
 * (`--<name> VALUE`); exactly one is chosen on the command line.
 */
export interface ReloadStrategy {
  /** The flag's name without dashes, also the record's `reload` value. */
  readonly name: string;
  readonly valueHint: string;
  readonly description: string;
  /** Checks the flag's value (bad usage is exit 2) and binds the strategy to it. */
  select(value: string): Reloader;
}

export function reloadFailed(reason: string): MhcError {
  return new MhcError(reason, ExitCode.reloadFailed);
}
