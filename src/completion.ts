import process from "node:process";
import { type ArgDef, type ArgsDef, defineCommand } from "citty";
import { ExitCode, MhcError } from "./errors.ts";
import { type AnyCommand, aliasesOf, resolve } from "./usage.ts";

/** What a completion script needs to know about one option. */
interface Option {
  name: string;
  alias: string[];
  description: string;
  /** undefined: a boolean; []: any value (a file); else the allowed values. */
  values?: string[];
}

interface Command {
  name: string;
  description: string;
  options: Option[];
}

function optionsOf(argsDef: ArgsDef): Option[] {
  return Object.entries(argsDef)
    .filter(([, def]) => def.type !== "positional")
    .map(([name, def]: [string, ArgDef]) => ({
      name,
      alias: aliasesOf(def),
      description: def.description ?? "",
      ...(def.type === "boolean" ? {} : { values: def.type === "enum" ? (def.options ?? []) : [] }),
    }));
}

async function commandsOf(root: AnyCommand, globalArgs: ArgsDef): Promise<Command[]> {
  const globals = optionsOf(globalArgs);
  const commands: Command[] = [];
  for (const [name, loader] of Object.entries((await resolve(root.subCommands)) ?? {})) {
    const cmd = (await resolve(loader)) as AnyCommand;
    const meta = await resolve(cmd.meta);
    const options = [...optionsOf((await resolve(cmd.args)) ?? {}), ...globals];
    commands.push({ name, description: meta?.description ?? "", options });
  }
  return commands;
}

const flagsOf = (option: Option) => [`--${option.name}`, ...option.alias.map((a) => `-${a}`)];

function bash(commands: Command[], globals: Option[]): string {
  const names = [...commands.map((c) => c.name), "help"];
  const cases = commands.map((c) => {
    const all = c.options.flatMap(flagsOf).join(" ");
    const valued = c.options.filter((o) => o.values).flatMap(flagsOf);
    const enums = c.options
      .filter((o) => o.values && o.values.length > 0)
      .map(
        (o) =>
          `        ${flagsOf(o).join("|")}) COMPREPLY=($(compgen -W "${o.values?.join(" ")}" -- "$cur")); return ;;`,
      );
    return [
      `    ${c.name})`,
      `      case "$prev" in`,
      ...enums,
      ...(valued.length > 0
        ? [`        ${valued.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`]
        : []),
      "      esac",
      `      opts="${all}" ;;`,
    ].join("\n");
  });
  return `# mhc completion for bash: source <(mhc completion bash)
_mhc() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" opts i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "${names.join(" ")} ${globals.flatMap(flagsOf).join(" ")}" -- "$cur")); return ;;
    help) COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")}" -- "$cur")); return ;;
${cases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _mhc mhc
`;
}

/** Text inside a zsh single-quoted `_arguments` spec: no quotes, brackets or colons of its own. */
const zshText = (text: string) => text.replace(/'/g, "'\\''").replace(/([[\]:])/g, "\\$1");

function zshSpec(option: Option): string {
  const value =
    option.values === undefined
      ? ""
      : option.values.length > 0
        ? `:value:(${option.values.join(" ")})`
        : ":file:_files";
  const description = `[${zshText(option.description)}]${value}`;
  const flags = flagsOf(option);
  if (flags.length === 1) return `'${flags[0]}${description}'`;
  return `'(${flags.join(" ")})'{${flags.join(",")}}'${description}'`;
}

function zsh(commands: Command[], globals: Option[]): string {
  const described = commands.map((c) => `'${c.name}:${zshText(c.description)}'`).join(" ");
  const cases = commands.map(
    (c) => `    ${c.name}) _arguments ${c.options.map(zshSpec).join(" ")} '*:file:_files' ;;`,
  );
  return `#compdef mhc
# mhc completion for zsh: mhc completion zsh > "\${fpath[1]}/_mhc"
_mhc() {
  local -a commands=(${described} 'help:Show help for a command')
  local state
  _arguments -C ${globals.map(zshSpec).join(" ")} '1:command:->command' '*::argument:->argument'
  case $state in
    command) _describe command commands ;;
    argument)
  case $words[1] in
${cases.join("\n")}
    help) _describe command commands ;;
  esac ;;
  esac
}
_mhc "$@"
`;
}

const fishText = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fishOption(option: Option, condition: string): string {
  const short = option.alias.map((a) => ` -s ${a}`).join("");
  const value =
    option.values === undefined
      ? ""
      : option.values.length > 0
        ? ` -x -a ${fishText(option.values.join(" "))}`
        : " -r -F";
  return `complete -c mhc -n ${fishText(condition)} -l ${option.name}${short}${value} -d ${fishText(option.description)}`;
}

function fish(commands: Command[], globals: Option[]): string {
  const names = commands.map((c) => c.name).join(" ");
  return [
    "# mhc completion for fish: mhc completion fish > ~/.config/fish/completions/mhc.fish",
    "complete -c mhc -f",
    ...commands.map(
      (c) => `complete -c mhc -n __fish_use_subcommand -a ${c.name} -d ${fishText(c.description)}`,
    ),
    "complete -c mhc -n __fish_use_subcommand -a help -d 'Show help for a command'",
    `complete -c mhc -n '__fish_seen_subcommand_from help' -a ${fishText(names)}`,
    ...globals.map((o) => fishOption(o, "__fish_use_subcommand")),
    ...commands.flatMap((c) => c.options.map((o) => fishOption(o, `__fish_seen_subcommand_from ${c.name}`))),
    "",
  ].join("\n");
}

const shells = { bash, zsh, fish };

/** `mhc completion bash|zsh|fish`: a script generated from the same definitions as the help. */
export function completionCommand(root: () => AnyCommand, globalArgs: ArgsDef): AnyCommand {
  return defineCommand({
    meta: { name: "completion", description: "Print a shell completion script (bash, zsh or fish)" },
    args: {
      shell: { type: "positional", required: true, description: "bash, zsh or fish", valueHint: "SHELL" },
    },
    async run({ args }) {
      const generate = Object.hasOwn(shells, args.shell)
        ? shells[args.shell as keyof typeof shells]
        : undefined;
      if (!generate)
        throw new MhcError(`no completion for "${args.shell}": choose bash, zsh or fish`, ExitCode.usage);
      const commands = await commandsOf(root(), globalArgs);
      process.stdout.write(generate(commands, optionsOf(globalArgs)));
    },
  }) as AnyCommand;
}
