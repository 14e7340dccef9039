import { realpath, stat } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { defineCommand, type ParsedArgs } from "citty";
import { givenFlags, maxDropPercent } from "../args/values.ts";
import { checkReplacement } from "../core/gates.ts";
import { type Model, modelJson, type RenderOptions } from "../core/model.ts";
import { incumbentsOf, publishedModelOf, readConfigText } from "../core/published.ts";
import { render } from "../core/render.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { runAfterChange, splitCommandLine } from "../io/command.ts";
import { readIfExists, writeFileAtomic } from "../io/files.ts";
import { acquireLock } from "../io/lock.ts";
import { log } from "../log.ts";
import { loadSnapshot } from "../marathon/connection.ts";
import { type WatchSettings, watchArgs, watchSettingsFrom } from "../watch/args.ts";
import { watchCommand } from "../watch/run.ts";
import { checkSnapshotSource, normaliseWithWarnings, renderOptionsFrom } from "./_render.ts";
import { gateArgs, marathonArgs, renderArgs } from "./_shared.ts";

const renderCommandArgs = {
  ...marathonArgs,
  ...renderArgs,
  output: {
    type: "string",
    alias: "o",
    description: "Write the config to FILE atomically (untouched when unchanged)",
    valueHint: "file",
  },
  json: {
    type: "boolean",
    description: "Print the normalised model (services, servers, excluded tasks) as JSON",
  },
  ...gateArgs,
  exec: {
    type: "string",
    description: "With -o: run CMD after each change of FILE, e.g. a reload (split into argv, no shell)",
    valueHint: "cmd",
  },
  ...watchArgs,
} as const;

interface Gates {
  force: boolean;
  maxDropPercent: number;
}

type ModelFor = (incumbents: ReadonlyMap<string, string>) => Model;
type Written = { written: boolean; message: string; model: Model };

/**
 * Writes the rendered config to the -o file and runs --exec when it changed. Replacing an existing
 * file passes the same safety gates as sync: an empty or gutted render (Marathon mid leader election)
 * never overwrites a working config, unattended or not. A failed or interrupted --exec runs again on
 * the next call, also of a later mhc, even if the file is unchanged by then, so a reload is never lost.
 * The existing file, read back, also names who owns each bind (the incumbent rule). Runs that write
 * the same FILE take turns (a lock beside it), so each --exec sees the config its own run wrote.
 */
function fileWriter(output: string, exec: string[] | undefined, options: RenderOptions, gates: Gates) {
  // What this writer wrote last: a watch reads the file back every sync, and while the file still
  // holds that text, the model written is what it says (no need to read 10 MB of config again).
  let last: { config: string; model: Model } | undefined;
  async function writeAndExec(
    modelFor: ModelFor,
    appsInSnapshot: number,
    renderConfig: (model: Model) => string,
  ): Promise<Written> {
    const current = await readIfExists(output);
    const published =
      current === undefined
        ? undefined
        : current === last?.config
          ? publishedModelOf(last.model)
          : readConfigText(current);
    const model = modelFor(published ? incumbentsOf(published) : new Map());
    const config = renderConfig(model);
    if (published !== undefined && current !== config && !gates.force) {
      const verdict = checkReplacement(
        published,
        publishedModelOf(model),
        appsInSnapshot,
        gates.maxDropPercent,
      );
      if (verdict) {
        throw new MhcError(
          `refused by gate ${verdict.gate}: ${verdict.reason}; kept ${output} (--force writes anyway)`,
          ExitCode.gateRefused,
        );
      }
    }
    const written = (await writeFileAtomic(output, config, current)) === "written";
    last = { config, model };
    const message = `${output}: ${written ? "written" : "unchanged"} (${model.services.length} services)`;
    if (!exec) return { written, message, model };
    const said = await runAfterChange(output, written, exec, "--exec");
    if (said === undefined) return { written, message, model };
    if (said) log.debug(`--exec said: ${said}`);
    return { written, message: `${message}; ran ${exec[0]}`, model };
  }

  return async (
    modelFor: ModelFor,
    appsInSnapshot: number,
    renderConfig = (model: Model) => render(model, options),
  ): Promise<Written> => {
    const release = await acquireLock(`${output}.mhc.lock`, {
      holder: `another mhc writing ${output}`,
      waitMs: 120_000,
    });
    try {
      return await writeAndExec(modelFor, appsInSnapshot, renderConfig);
    } finally {
      await release();
    }
  };
}

type RenderArgValues = ParsedArgs<typeof renderCommandArgs>;

/**
 * -o FILE is checked before Marathon is read: its folder must exist (said as such, not as a failed
 * lock or temp file), and it must not be a file the render reads, which writing would destroy.
 */
async function checkOutput(
  output: string,
  inputs: [flag: string, path: string | undefined][],
): Promise<void> {
  const folder = dirname(output);
  const isFolder = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new MhcError(`cannot write -o ${output}: ${folder} is not a folder`, ExitCode.io);
  const target = await realpath(output).catch(() => undefined);
  if (target === undefined) return;
  for (const [flag, path] of inputs) {
    if (path !== undefined && path !== "-" && (await realpath(path).catch(() => undefined)) === target)
      throw new MhcError(
        `-o ${output} is the ${flag} file; write the config to another file`,
        ExitCode.usage,
      );
  }
}

const gatesFrom = (args: RenderArgValues): Gates => ({
  force: args.force === true,
  maxDropPercent: maxDropPercent(args["max-drop"]),
});

/** `--watch`: keep -o FILE up to date on coalesced Marathon events and every --resync, until a signal. */
async function watchRender(
  args: RenderArgValues,
  rawArgs: string[],
  settings: WatchSettings,
  options: RenderOptions,
  exec?: string[],
) {
  // Without -o the refusal below stops before the writer is used.
  const output = args.output ?? "";
  const write = fileWriter(output, exec, options, gatesFrom(args));
  await watchCommand({
    command: "render",
    target: output,
    settings,
    options,
    marathon: { args, positionals: args._, rawArgs },
    refusals: [
      [!output, "--watch needs -o FILE to keep up to date"],
      [args.json === true, "--watch writes -o FILE; it cannot print --json"],
    ],
    sync: async (next) => {
      const rendered = await next();
      const { written, message } = await write(
        rendered.modelFor,
        rendered.appsInSnapshot,
        rendered.renderConfig,
      );
      return { ok: true, changed: written, message };
    },
  });
}

export default defineCommand({
  meta: { name: "render", description: "Render haproxy.cfg from Marathon (stdout, or -o FILE)" },
  args: renderCommandArgs,
  async run({ args, rawArgs }) {
    const options = await renderOptionsFrom(args, rawArgs);
    if (args.exec !== undefined && !args.output)
      throw new MhcError("--exec runs after -o FILE changes; give -o FILE", ExitCode.usage);
    const gates = gatesFrom(args);
    if (args.output)
      await checkOutput(args.output, [
        ["--from", args.from],
        ["--head", args.head],
      ]);
    if (!args.output && givenFlags(rawArgs, ["force", "max-drop"]).length > 0)
      throw new MhcError(
        "--force and --max-drop guard the -o FILE they would replace; give -o FILE",
        ExitCode.usage,
      );
    const exec = args.exec !== undefined ? splitCommandLine(args.exec, "--exec") : undefined;
    const watch = watchSettingsFrom(args, rawArgs);
    // --watch refuses --from itself, whatever comes with it.
    if (watch) return watchRender(args, rawArgs, watch, options, exec);
    checkSnapshotSource(args.from, args._, rawArgs);
    const { snapshot } = await loadSnapshot(args, args._, rawArgs);
    let model: Model;
    if (args.output) {
      const write = fileWriter(args.output, exec, options, gates);
      const written = await write(
        (incumbents) => normaliseWithWarnings(snapshot, { ...options, incumbents }),
        snapshot.apps.length,
      );
      log.info(written.message);
      model = written.model;
    } else model = normaliseWithWarnings(snapshot, options);
    if (args.json) process.stdout.write(`${JSON.stringify(modelJson(model), null, 2)}\n`);
    else if (!args.output) process.stdout.write(render(model, options));
  },
});
