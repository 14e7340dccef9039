import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";

/**
 * Splits a command option (`--exec`, `--reload-cmd`) into argv the way a POSIX shell splits words,
 * and no further: '…' is literal, "…" allows \" \\ \$ \` escapes, a backslash outside quotes
 * escapes the next character. No shell runs, so there is no globbing, no $VAR expansion, no pipes
 * or `;` (use `sh -c '…'` for those). `flag` names the option in errors.
 */
export function splitCommandLine(text: string, flag: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string))
        word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new MhcError(`${flag} has an unclosed ${quote} quote: ${text}`, ExitCode.usage);
  if (inWord) words.push(word);
  if (words.length === 0) throw new MhcError(`${flag} needs a command`, ExitCode.usage);
  return words;
}

/** How long an operator's command may run before it is killed: a hung reload must not stall mhc. */
const commandTimeoutMs = 60_000;

/**
 * Runs argv without a shell and returns its output. Failure (not found, non-zero exit, killed after
 * the timeout) is an MhcError (reloadFailed) that names `label`, the command and its last line.
 */
export function runCommand(argv: string[], label: string, timeoutMs = commandTimeoutMs): Promise<string> {
  const [file = "", ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!error) return resolve(output);
      const code = (error as NodeJS.ErrnoException).code as number | string | undefined;
      const why =
        code === "ENOENT"
          ? "was not found"
          : error.killed
            ? `was killed after ${timeoutMs / 1000} s`
            : `exited with status ${code}`;
      const last = output.split("\n").pop();
      reject(
        new MhcError(`${label} "${argv.join(" ")}" ${why}${last ? `: ${last}` : ""}`, ExitCode.reloadFailed),
      );
    });
  });
}

/** Beside `file` while a command that must follow its change has not yet succeeded. */
export const pendingCommandPath = (file: string) => `${file}.mhc-exec-pending`;

/**
 * Runs `argv` after `file` changed, and again on later calls until it succeeds: a marker beside the
 * file, written before the command starts, survives a failed command and a killed mhc, so the next
 * run (watch or one-shot) still runs it even though the file is unchanged by then. Returns the
 * command's output, or undefined when nothing had to run.
 */
export async function runAfterChange(
  file: string,
  changed: boolean,
  argv: string[],
  label: string,
): Promise<string | undefined> {
  const marker = pendingCommandPath(file);
  if (!changed && !existsSync(marker)) return undefined;
  try {
    await writeFile(marker, `${argv.join(" ")}\n`);
  } catch (error) {
    throw new MhcError(`cannot write ${marker}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
  }
  const output = await runCommand(argv, label);
  await unlink(marker).catch(() => {});
  return output;
}
