import process from "node:process";
import { type ArgDef, type ArgsDef, runCommand as runCittyCommand } from "citty";
import { ExitCode, MhcError } from "./errors.ts";
import { colorOn, disableColor, isVerbose, log, redact, setLevel } from "./log.ts";
import { type AnyCommand, aliasesOf, didYouMean, renderHelp, resolve } from "./usage.ts";

/**
 * Options every command takes, before or after its name (`mhc --quiet sync …` = `mhc sync --quiet …`).
 * Any other option before the command is an error: `mhc --dry-run sync` must never push.
 */
export const globalArgs = {
  verbose: { type: "boolean", description: "Log more: each Marathon attempt, stack traces of errors" },
  quiet: { type: "boolean", alias: "q", description: "Log only errors (results still go to stdout)" },
  "no-color": {
    type: "boolean",
    description: "No colour (also NO_COLOR, FORCE_COLOR=0, TERM=dumb; never in a pipe or file)",
  },
  help: { type: "boolean", alias: "h", description: "Show help (also: mhc help [command])" },
  version: { type: "boolean", alias: "v", description: "Print mhc's version" },
} as const satisfies ArgsDef;

type GlobalName = keyof typeof globalArgs;

/** A mistake on the command line: exit 2, the error, then where to read the usage. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly helpPath: string,
  ) {
    super(message);
  }
}

/**
 * Our own runMain: citty's exits 1 on every failure, but 1 means "differences found" for
 * `mhc diff`. This one maps usage errors to 2 and MhcError to its own code, refuses unknown
 * flags (a mistyped `--dry-run` must never become a real push), and prints help only on request.
 */
export async function main(root: AnyCommand, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  endQuietlyOnClosedStdout();
  const rootName = (await resolve(root.meta))?.name ?? "mhc";
  let helpPath = rootName;
  try {
    const { globals, name, rest, misplaced } = splitAtCommand(rawArgs, rootName);
    // --help wins over everything else on the line: help runs nothing, so nothing can go wrong.
    const wantsHelp = globals.has("help") || asksFor(rest, "help");
    if (misplaced && !wantsHelp) throw await misplacedOption(root, rootName, misplaced, name);
    applyGlobals(globals, helpPath, wantsHelp);
    const printVersion = async () => print(`${(await resolve(root.meta))?.version}\n`);
    if (globals.has("version") && name === undefined) return printVersion();
    if (name === undefined) return print(await help(root, rootName));
    if (name === "help") return await printHelpFor(root, rootName, rest);
    const cmd = await subCommand(root, rootName, name);
    helpPath = `${rootName} ${name}`;
    if (wantsHelp) return print(await help(cmd, helpPath));
    // Before the command's own checks: `mhc sync -v` needs no --repo.
    if (globals.has("version") || asksFor(rest, "version")) return printVersion();
    const argsDef = (await resolve(cmd.args)) ?? {};
    const parsed = checkCommandLine(argsDef, rest, helpPath);
    const allGlobals = new Set([...globals, ...parsed.globals]);
    applyGlobals(allGlobals, helpPath);
    await runCittyCommand(cmd, { rawArgs: parsed.commandArgs });
  } catch (error) {
    process.exitCode = report(error, helpPath);
  }
}

function print(text: string): void {
  process.stdout.write(text);
}

function help(cmd: AnyCommand, path: string): Promise<string> {
  return renderHelp(cmd, path, globalArgs, colorOn(process.stdout));
}

async function printHelpFor(root: AnyCommand, rootName: string, rest: string[]): Promise<void> {
  const name = rest.find((a) => !a.startsWith("-"));
  if (name === undefined || name === "help") return print(await help(root, rootName));
  print(await help(await subCommand(root, rootName, name), `${rootName} ${name}`));
}

async function subCommand(root: AnyCommand, rootName: string, name: string): Promise<AnyCommand> {
  const subCommands = (await resolve(root.subCommands)) ?? {};
  const loader = Object.hasOwn(subCommands, name) ? subCommands[name] : undefined;
  if (!loader) {
    const known = [...Object.keys(subCommands), "help"];
    throw new UsageError(`unknown command "${name}"${didYouMean(name, known)}`, rootName);
  }
  return (await resolve(loader)) as AnyCommand;
}

/** A flag's name without dashes and value, and the value given inline (`--name=value`). */
function flagParts(arg: string): { name: string; inline?: string } {
  const [name = "", inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2);
  return inline === undefined ? { name } : { name, inline };
}

const globalNames = new Map<string, GlobalName>(
  Object.entries(globalArgs).flatMap(([name, def]) => {
    const alias = "alias" in def ? [def.alias] : [];
    return [name, ...alias].map((n) => [n, name as GlobalName] as const);
  }),
);

function globalOption(arg: string, helpPath: string): GlobalName | undefined {
  const { name, inline } = flagParts(arg);
  const global = globalNames.get(name);
  if (global && inline !== undefined) throw new UsageError(`--${global} takes no value`, helpPath);
  return global;
}

/**
 * Global options before the command, the command's name, everything after it, and the first
 * other option found before the name (an error, reported once the command is known).
 */
function splitAtCommand(
  rawArgs: string[],
  rootName: string,
): { globals: Set<GlobalName>; name?: string; rest: string[]; misplaced?: string } {
  const globals = new Set<GlobalName>();
  let misplaced: string | undefined;
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === "--" || arg === "-") throw new UsageError(`"${arg}" before the command`, rootName);
    if (!arg.startsWith("-")) return { globals, name: arg, rest: rawArgs.slice(i + 1), misplaced };
    const global = globalOption(arg, rootName);
    if (global) globals.add(global);
    else misplaced ??= arg;
  }
  return { globals, rest: [], misplaced };
}

/** `mhc --dry-run sync`: refused, with where the option belongs when the command takes it. */
async function misplacedOption(root: AnyCommand, rootName: string, arg: string, name?: string) {
  const flag = flagParts(arg).name;
  const subCommands = (await resolve(root.subCommands)) ?? {};
  const loader = name !== undefined && Object.hasOwn(subCommands, name) ? subCommands[name] : undefined;
  const argsDef = loader ? ((await resolve(((await resolve(loader)) as AnyCommand).args)) ?? {}) : {};
  const takes = Object.hasOwn(argsDef, flag) && argsDef[flag]?.type !== "positional";
  const option = arg.split("=")[0];
  if (name === undefined)
    return new UsageError(
      `unknown option "${option}"${didYouMean(`--${flag}`, globalOptionNames())}`,
      rootName,
    );
  if (takes)
    return new UsageError(
      `option "${option}" before the command; it goes after it: ${rootName} ${name} ${option}`,
      rootName,
    );
  return new UsageError(
    `unknown option "${option}" before the command${didYouMean(`--${flag}`, globalOptionNames())}`,
    rootName,
  );
}

/** `--help` anywhere before `--` wins over everything else on the line, mistakes included. */
/** Whether `--help`/`-h` (or `--version`/`-v`) is among the arguments before `--`. */
function asksFor(rest: string[], global: "help" | "version"): boolean {
  const end = rest.indexOf("--");
  const flags = [`--${global}`, `-${globalArgs[global].alias}`];
  return (end < 0 ? rest : rest.slice(0, end)).some((a) => flags.includes(a));
}

function applyGlobals(globals: Set<GlobalName>, helpPath: string, helpWins = false): void {
  if (globals.has("verbose") && globals.has("quiet") && !helpWins)
    throw new UsageError("choose --verbose or --quiet, not both", helpPath);
  if (globals.has("verbose")) setLevel("verbose");
  if (globals.has("quiet")) setLevel("quiet");
  if (globals.has("no-color")) disableColor();
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Checks what follows the command's name against its definition, before anything runs: unknown
 * options (with a did-you-mean), missing values, enum values, required options and arguments.
 * Global options are taken out; the rest is what the command parses.
 */
function checkCommandLine(
  argsDef: ArgsDef,
  rest: string[],
  helpPath: string,
): { globals: Set<GlobalName>; commandArgs: string[] } {
  const flags = new Map<string, [string, ArgDef]>();
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === "positional") continue;
    for (const n of [name, camel(name), ...aliasesOf(def)]) flags.set(n, [name, def]);
  }
  const globals = new Set<GlobalName>();
  const commandArgs: string[] = [];
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === "--") {
      positionals.push(...rest.slice(i + 1));
      commandArgs.push(...rest.slice(i));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      commandArgs.push(arg);
      continue;
    }
    const global = globalOption(arg, helpPath);
    if (global) {
      globals.add(global);
      continue;
    }
    const { name, inline } = flagParts(arg);
    const negated = name.startsWith("no-") ? flags.get(name.slice(3)) : undefined;
    const [canonical, def] = flags.get(name) ?? (negated?.[1].type === "boolean" ? negated : []);
    if (!canonical || !def) {
      const known = [...new Set([...flags.values()].map(([n]) => `--${n}`)), ...globalOptionNames()];
      throw new UsageError(
        `unknown option "${arg.split("=")[0]}"${didYouMean(`--${name}`, known)}`,
        helpPath,
      );
    }
    given.add(canonical);
    commandArgs.push(arg);
    if (def.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${canonical} takes no value`, helpPath);
      continue;
    }
    const value = inline ?? rest[++i];
    // An empty value (`--repo ""` from an unset variable) is never meant: no flag takes one.
    if (value === undefined || value.trim() === "")
      throw new UsageError(`--${canonical} needs a value`, helpPath);
    if (inline === undefined) commandArgs.push(value);
    if (def.type === "enum" && !(def.options ?? []).includes(value))
      throw new UsageError(
        `--${canonical} must be one of ${(def.options ?? []).join(", ")}, not "${value}"`,
        helpPath,
      );
  }
  const positionalDefs = Object.values(argsDef).filter((def) => def.type === "positional");
  // A positional whose hint ends in "…" (MARATHON…) takes any number; the others one each.
  const unexpected = positionalDefs.some((def) => def.valueHint?.endsWith("…"))
    ? undefined
    : positionals[positionalDefs.length];
  if (unexpected !== undefined) throw new UsageError(`unexpected argument "${unexpected}"`, helpPath);
  const requiredPositionals = Object.entries(argsDef).filter(
    ([, def]) => def.type === "positional" && def.required !== false,
  );
  const missing = requiredPositionals[positionals.length];
  if (missing) {
    const [name, def] = missing;
    throw new UsageError(`missing ${def.valueHint ?? name.toUpperCase()}: ${def.description}`, helpPath);
  }
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type !== "positional" && def.required === true && !given.has(name))
      throw new UsageError(`--${name} is required`, helpPath);
  }
  return { globals, commandArgs };
}

function globalOptionNames(): string[] {
  return Object.keys(globalArgs).map((n) => `--${n}`);
}

/**
 * `mhc render | head -1`: the reader has what it wanted. Stop writing and end with the exit code
 * decided so far (0 for render), without a runtime's EPIPE dump.
 */
function endQuietlyOnClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(Number(process.exitCode ?? 0));
    log.error(`cannot write to stdout: ${error.message}`);
    process.exit(ExitCode.io);
  });
}

const permissionCodes = new Set(["EACCES", "EPERM", "EROFS"]);

/** A permission error no layer turned into an MhcError still names the path it hit (exit 8). */
function permissionProblem(error: unknown): { path: string; code: string } | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  return e?.path && e.code && permissionCodes.has(e.code) ? { path: e.path, code: e.code } : undefined;
}

function report(error: unknown, helpPath: string): number {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EPIPE") return Number(process.exitCode ?? 0);
  if (error instanceof MhcError || error instanceof UsageError) {
    log.error(error.message);
    if (isVerbose() && error.cause) log.debug(redact(String((error.cause as Error)?.stack ?? error.cause)));
    const usage = error instanceof UsageError || error.exitCode === ExitCode.usage;
    if (usage) log.hint(`see "${error instanceof UsageError ? error.helpPath : helpPath} --help"`);
    return error instanceof MhcError ? error.exitCode : ExitCode.usage;
  }
  const problem = permissionProblem(error);
  if (problem) {
    log.error(`permission denied on ${problem.path} (${problem.code})`);
    return ExitCode.io;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  log.error(`unexpected failure: ${err.message}`);
  if (isVerbose()) log.debug(err.stack ?? "");
  return ExitCode.usage;
}
