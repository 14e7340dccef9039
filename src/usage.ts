import type { ArgDef, ArgsDef, CommandDef } from "citty";
import { paint } from "./log.ts";

export type AnyCommand = CommandDef<ArgsDef>;

export async function resolve<T>(
  value: T | (() => T) | (() => Promise<T>) | Promise<T> | undefined,
): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** A flag's short names (`o` for `--output`). */
export function aliasesOf(def: ArgDef): string[] {
  const alias = (def as { alias?: string | string[] }).alias;
  return alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
}

/** `--name`, `-a`, with the value hint of a flag that takes one: `--output, -o <file>`. */
export function flagLabel(name: string, def: ArgDef): string {
  const names = [`--${name}`, ...aliasesOf(def).map((a) => `-${a}`)].join(", ");
  if (def.type === "boolean") return names;
  if (def.type === "enum") return `${names} <${(def.options ?? []).join("|")}>`;
  return `${names} <${def.valueHint ?? name}>`;
}

/** `FILE`, `[MARATHON…]`: the value hint names a positional in help when it has one. */
function positionalLabel(name: string, def: ArgDef): string {
  const label = def.valueHint ?? name.toUpperCase();
  return def.required === false ? `[${label}]` : `<${label}>`;
}

function columns(rows: [string, string][], color: boolean): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${paint(color, 36, left.padEnd(width))}  ${right}`.trimEnd());
}

function describe(def: ArgDef): string {
  const required = def.type !== "positional" && def.required === true ? " (required)" : "";
  const fallback = "default" in def && def.default !== undefined ? ` (default: ${def.default})` : "";
  return `${def.description ?? ""}${required}${fallback}`;
}

/**
 * Help for one command: what it does, its usage line (positionals included), its own options,
 * the global options and, for the root, the commands.
 */
export async function renderHelp(
  cmd: AnyCommand,
  path: string,
  globalArgs: ArgsDef,
  color: boolean,
): Promise<string> {
  const meta = (await resolve(cmd.meta)) ?? {};
  const args = Object.entries((await resolve(cmd.args)) ?? {});
  const positionals = args.filter(([, def]) => def.type === "positional");
  const options = args.filter(([, def]) => def.type !== "positional");
  const subCommands = Object.entries((await resolve(cmd.subCommands)) ?? {});
  const heading = (text: string) => paint(color, 1, text);
  const usage = [
    path,
    subCommands.length > 0 ? "<command>" : "",
    options.length > 0 || subCommands.length === 0 ? "[options]" : "",
    ...options.filter(([, def]) => def.required === true).map(([name, def]) => flagLabel(name, def)),
    ...positionals.map(([name, def]) => positionalLabel(name, def)),
  ].filter(Boolean);
  const lines = [meta.description ?? "", "", `${heading("Usage:")} ${usage.join(" ")}`];
  if (positionals.length > 0) {
    lines.push("", heading("Arguments:"));
    lines.push(
      ...columns(
        positionals.map(([n, d]) => [positionalLabel(n, d), describe(d)]),
        color,
      ),
    );
  }
  if (subCommands.length > 0) {
    const rows: [string, string][] = [];
    for (const [name, loader] of subCommands) {
      const sub = (await resolve(loader)) as AnyCommand;
      const subMeta = await resolve(sub.meta);
      if (!subMeta?.hidden) rows.push([name, subMeta?.description ?? ""]);
    }
    lines.push("", heading("Commands:"), ...columns(rows, color));
  }
  if (options.length > 0) {
    lines.push("", heading("Options:"));
    lines.push(
      ...columns(
        options.map(([n, d]) => [flagLabel(n, d), describe(d)]),
        color,
      ),
    );
  }
  lines.push("", heading("Global options:"));
  lines.push(
    ...columns(
      Object.entries(globalArgs).map(([n, d]) => [flagLabel(n, d), describe(d)]),
      color,
    ),
  );
  if (subCommands.length > 0) lines.push("", `Run "${path} <command> --help" for a command's options.`);
  return `${lines.join("\n")}\n`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The candidate a typo most likely meant, if one is close enough (` (did you mean "x"?)`). */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(typed.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best ? ` (did you mean "${best}"?)` : "";
}
