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
  /** Reloads (or first starts) HAProxy and checks that it took; returns what happened, for the log. */
  reload(context: ReloadContext): Promise<string>;
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
