import process from "node:process";

/**
 * Everything that is not a result goes to stderr, so stdout stays pipeable (config, diff, JSON).
 * Every line passes through `redact`, so a credential registered with `addSecret` never reaches a log.
 */

const secrets = new Set<string>();
type Level = "quiet" | "normal" | "verbose";
let level: Level = process.env.MHC_DEBUG === "1" ? "verbose" : "normal";
let colorAllowed = true;
let timestamps = false;
let progressShown = false;

/** `--verbose` adds debug lines; `--quiet` leaves only errors. */
export function setLevel(value: Level): void {
  level = value;
}

export function isVerbose(): boolean {
  return level === "verbose";
}

/** `--no-color`: no escape codes on any stream, whatever the terminal says. */
export function disableColor(): void {
  colorAllowed = false;
}

/**
 * Colour only on a terminal, and never when NO_COLOR (any value), FORCE_COLOR=0 or TERM=dumb says
 * no. FORCE_COLOR cannot turn it on for a pipe or a file: those never get escape codes.
 */
export function colorOn(stream: { isTTY?: boolean }): boolean {
  const env = process.env;
  return (
    colorAllowed &&
    stream.isTTY === true &&
    !env.NO_COLOR &&
    env.FORCE_COLOR !== "0" &&
    env.FORCE_COLOR !== "false" &&
    env.TERM !== "dumb"
  );
}

/** Wraps `text` in an SGR code when `on`. */
export function paint(on: boolean, code: number, text: string): string {
  return on ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/**
 * Long-running modes (watch) end up in journald or a log file: there each line starts with the
 * time. On a terminal the reader sees the time already.
 */
export function timestampWhenLogged(): void {
  timestamps = !process.stderr.isTTY;
}

/** Register a value that must never be printed (password, token, basic-auth header). */
export function addSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;

/** Remove credentials from text: `scheme://user:pass@host` loses its userinfo; registered secrets become ***. */
export function redact(text: string): string {
  let out = text.replace(urlCredentials, "$1***@");
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join("***");
  }
  return out;
}

function write(label: string, color: number | undefined, message: string): void {
  const on = color !== undefined && colorOn(process.stderr);
  const time = timestamps ? `${new Date().toISOString()} ` : "";
  const prefix = label ? `mhc: ${paint(on, color ?? 0, label)}: ` : "mhc: ";
  process.stderr.write(`${time}${prefix}${redact(message)}\n`);
}

export const log = {
  info: (message: string) => {
    if (level !== "quiet") write("", undefined, message);
  },
  warn: (message: string) => {
    if (level !== "quiet") write("warning", 33, message);
  },
  error: (message: string) => write("error", 31, message),
  /** The line after an error that says where to read more; shown even with --quiet. */
  hint: (message: string) => write("", undefined, message),
  debug: (message: string) => {
    if (level === "verbose") write("debug", 90, message);
  },
  /** One line saying what a long step is doing, at most once per run (a watcher renders often). */
  progress: (message: string) => {
    if (progressShown || level === "quiet") return;
    progressShown = true;
    write("", undefined, message);
  },
};
