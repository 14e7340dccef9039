import process from "node:process";
import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { ExitCode, MhcError } from "./errors.ts";
import { isVerbose, log, redact, setVerbose } from "./log.ts";

type AnyCommand = CommandDef<ArgsDef>;

/**
 * Our own runMain: citty's exits 1 on every failure, but 1 means "differences found" for
 * `mhc diff`. This one maps usage errors to 2, MhcError to its own code, and refuses unknown
 * flags (a mistyped `--dry-run` must never become a real push).
 */
export async function main(root: AnyCommand, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  if (rawArgs.includes("--verbose")) setVerbose(true);
  let usageTarget: { cmd: AnyCommand; parent?: AnyCommand } = { cmd: root };
  try {
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      const meta = await resolve(root.meta);
      process.stdout.write(`${meta?.version}\n`);
      return;
    }
    const { cmd, parent, rest } = await resolveCommand(root, rawArgs);
    usageTarget = { cmd, parent };
    if (rest.includes("--help") || rest.includes("-h") || cmd === root) {
      if (cmd === root && rest.some((a) => !a.startsWith("-"))) {
        throw new UsageError(`unknown command "${rest.find((a) => !a.startsWith("-"))}"`);
      }
      process.stdout.write(`${await renderUsage(cmd, parent)}\n`);
      return;
    }
    checkUnknownFlags((await resolve(cmd.args)) ?? {}, rest);
    await runCommand(root, { rawArgs });
  } catch (error) {
    process.exitCode = await report(error, usageTarget);
  }
}

class UsageError extends Error {}

async function report(error: unknown, usage: { cmd: AnyCommand; parent?: AnyCommand }): Promise<number> {
  if (error instanceof MhcError) {
    log.error(error.message);
    if (isVerbose() && error.cause) log.debug(redact(String((error.cause as Error)?.stack ?? error.cause)));
    return error.exitCode;
  }
  if (error instanceof UsageError || (error instanceof Error && error.name === "CLIError")) {
    process.stderr.write(`${await renderUsage(usage.cmd, usage.parent)}\n\n`);
    log.error(`${(error as Error).message} (see --help)`);
    return ExitCode.usage;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  log.error(`unexpected failure: ${err.message}`);
  if (isVerbose()) log.debug(err.stack ?? "");
  return ExitCode.usage;
}

async function resolve<T>(
  value: T | (() => T) | (() => Promise<T>) | Promise<T> | undefined,
): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

async function resolveCommand(
  root: AnyCommand,
  rawArgs: string[],
): Promise<{ cmd: AnyCommand; parent?: AnyCommand; rest: string[] }> {
  const subCommands = await resolve(root.subCommands);
  const index = rawArgs.findIndex((a) => !a.startsWith("-"));
  const name = index >= 0 ? rawArgs[index] : undefined;
  if (!subCommands || name === undefined) return { cmd: root, rest: rawArgs };
  const loader = Object.hasOwn(subCommands, name) ? subCommands[name] : undefined;
  if (!loader) return { cmd: root, rest: rawArgs };
  const cmd = (await resolve(loader)) as AnyCommand;
  return { cmd, parent: root, rest: rawArgs.slice(index + 1) };
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Rejects flags the command does not define. Values of string flags are skipped. */
function checkUnknownFlags(argsDef: ArgsDef, rest: string[]): void {
  const valueFlags = new Set<string>();
  const booleanFlags = new Set<string>(["verbose"]);
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === "positional") continue;
    const alias = (def as { alias?: string | string[] }).alias;
    const names = [name, camel(name), ...(Array.isArray(alias) ? alias : alias ? [alias] : [])];
    for (const n of names) (def.type === "boolean" ? booleanFlags : valueFlags).add(n);
  }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const [flag = "", inlineValue] = arg.replace(/^--?/, "").split(/=(.*)/s, 2);
    if (valueFlags.has(flag) || valueFlags.has(camel(flag))) {
      if (inlineValue === undefined) i++;
      continue;
    }
    const positive = flag.startsWith("no-") ? flag.slice(3) : flag;
    if (booleanFlags.has(flag) || booleanFlags.has(camel(flag)) || booleanFlags.has(camel(positive)))
      continue;
    throw new UsageError(`unknown option "${arg.split("=")[0]}"`);
  }
}
