import { ExitCode, MhcError } from "../errors.ts";

/**
 * Splits a `--reload-cmd` string into argv without any shell: whitespace separates words, single
 * quotes keep everything literal, double quotes keep spaces, a backslash escapes the next character
 * (outside single quotes). No globbing, variables, pipes or `;`: those characters stay literal.
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new MhcError(`--reload-cmd has an unclosed ${quote} quote: ${command}`, ExitCode.usage);
  if (inWord) words.push(word);
  if (words.length === 0) throw new MhcError("--reload-cmd is empty", ExitCode.usage);
  return words;
}
