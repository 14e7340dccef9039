import { ExitCode, MhcError } from "../errors.ts";

/** All values of a repeatable flag, in order (citty keeps only the last one). */
export function repeated(rawArgs: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === "--") break;
    if (arg === `--${name}`) {
      const value = rawArgs[i + 1];
      if (value !== undefined) values.push(value);
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
    }
  }
  return values;
}

/** Which of the flags `names` are on the command line (either spelling, before --), in the order of `names`. */
export function givenFlags(rawArgs: string[], names: readonly string[]): string[] {
  const end = rawArgs.indexOf("--");
  const given = end === -1 ? rawArgs : rawArgs.slice(0, end);
  return names.filter((name) => given.some((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`)));
}

/** A numeric flag value within bounds; anything else is a usage error naming the flag. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number {
  const n = Number(value);
  if (
    value === undefined ||
    value.trim() === "" ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !/^\s*[+-]?\d+\s*$/.test(value))
  ) {
    throw new MhcError(
      `--${flag} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, not "${value}"`,
      ExitCode.usage,
    );
  }
  return n;
}

export const portNumber = (value: string | undefined, flag: string) =>
  numberFlag(value, flag, { min: 0, max: 65535, integer: true });

export function maxDropPercent(value: string | undefined): number {
  return numberFlag(value, "max-drop", { min: 0, max: 100, integer: false });
}

/** `--git-timeout SECONDS` in milliseconds. */
export const gitTimeoutMs = (value: string | undefined) =>
  numberFlag(value, "git-timeout", { min: 1, max: 3600, integer: false }) * 1000;

const sizeUnits: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** A size such as `1g`, `512m`, `64k` or a bare number of bytes (binary units; a trailing b or ib is allowed). */
export function sizeFlag(value: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  const bytes = match
    ? Math.floor(Number(match[1]) * (sizeUnits[(match[2] ?? "").toLowerCase()] as number))
    : 0;
  if (bytes < 1 || bytes > 2 ** 42)
    throw new MhcError(`--${flag} must be a size such as 64m or 1g, not "${value}"`, ExitCode.usage);
  return bytes;
}
