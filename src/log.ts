import process from "node:process";

/**
 * Everything that is not a result goes to stderr, so stdout stays pipeable (config, diff, JSON).
 * Every line passes through `redact`, so a credential registered with `addSecret` never reaches a log.
 */

const secrets = new Set<string>();
let verbose = process.env.MHC_DEBUG === "1";

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
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

function write(prefix: string, message: string): void {
  process.stderr.write(`${prefix}${redact(message)}\n`);
}

export const log = {
  info: (message: string) => write("mhc: ", message),
  warn: (message: string) => write("mhc: warning: ", message),
  error: (message: string) => write("mhc: error: ", message),
  debug: (message: string) => {
    if (verbose) write("mhc: debug: ", message);
  },
};
