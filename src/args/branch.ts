import { ExitCode, MhcError } from "../errors.ts";

/**
 * Why git would refuse `name` as a branch (the rules of `git check-ref-format --branch`), or
 * undefined when it is a valid one.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name.startsWith("-")) return "starts with -";
  if (name === "HEAD" || name === "@") return `is "${name}", which git reserves`;
  for (const char of name) {
    const code = char.charCodeAt(0);
    if (char === " ") return "contains a space";
    if (code < 0x20 || code === 0x7f) return "contains a control character";
    if ("~^:?*[\\".includes(char)) return `contains "${char}"`;
  }
  if (name.includes("..")) return 'contains ".."';
  if (name.includes("@{")) return 'contains "@{"';
  if (name.endsWith(".")) return 'ends with "."';
  const parts = name.split("/");
  if (parts.some((part) => part === ""))
    return "has an empty path component (a leading, trailing or double /)";
  if (parts.some((part) => part.startsWith("."))) return 'has a path component starting with "."';
  if (parts.some((part) => part.endsWith(".lock"))) return 'has a path component ending with ".lock"';
  return undefined;
}

/** A branch flag's value, checked before anything is rendered or fetched; a usage error otherwise. */
export function branchFlag(value: string, flag: string): string {
  const problem = branchNameProblem(value);
  if (problem)
    throw new MhcError(`--${flag} "${value}" is not a valid git branch name: it ${problem}`, ExitCode.usage);
  return value;
}
