import { existsSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { defineCommand, type ParsedArgs } from "citty";
import { parseDuration } from "../args/duration.ts";
import { givenFlags, maxDropPercent } from "../args/values.ts";
import { checkReplacement } from "../core/gates.ts";
import { type Model, modelJson, type RenderOptions } from "../core/model.ts";
import { incumbentsOf, publishedModelOf, readConfigText } from "../core/published.ts";
import { render } from "../core/render.ts";
import { applyChangeAtRuntime, dumpServerState } from "../deploy/runtime.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { pendingCommandPath, runAfterChange, splitCommandLine } from "../io/command.ts";
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
  "runtime-socket": {
    type: "string",
    description:
      "With --exec: apply server-only changes over HAProxy's Runtime API on SOCKET (master CLI or admin stats socket); the rest runs CMD",
    valueHint: "socket",
  },
  "drain-timeout": {
    type: "string",
    description:
      "With --runtime-socket: how long a removed server may finish its sessions before they are cut",
    default: "30s",
    valueHint: "duration",
  },
  ...watchArgs,
} as const;

interface Gates {
  force: boolean;
  maxDropPercent: number;
}

/** --runtime-socket and its --drain-timeout. */
interface RuntimeTarget {
  socket: string;
  drainTimeoutMs: number;
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
 * With --runtime-socket, a change of servers only goes to HAProxy over its Runtime API before the
 * file is written (so a later reload gives the same state), and --exec does not run.
 */
function fileWriter(
  output: string,
  exec: string[] | undefined,
  options: RenderOptions,
  gates: Gates,
  runtime?: RuntimeTarget,
) {
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
    if (runtime && exec && current !== undefined && current !== config) {
      const applied = await applyAtRuntime(runtime, output, current, config, exec);
      if (applied) {
        await writeFileAtomic(output, config, current);
        last = { config, model };
        return { written: true, message: `${output}: written, ${applied}; no reload`, model };
      }
    }
    const written = (await writeFileAtomic(output, config, current)) === "written";
    last = { config, model };
    const message = `${output}: ${written ? "written" : "unchanged"} (${model.services.length} services)`;
    if (!exec) return { written, message, model };
    // As deploy does before a reload: health, weights and maintenance survive the one CMD makes.
    if (runtime && current !== undefined && (written || existsSync(pendingCommandPath(output)))) {
      await dumpServerState(runtime.socket, config, current);
    }
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

/**
 * The change from the file HAProxy runs to `config` over the Runtime API: what was applied, or
 * undefined (logged why) when --exec must run: more than servers changed, the socket does not
 * answer, HAProxy refused a change or reads back otherwise, or an earlier --exec is still owed.
 */
async function applyAtRuntime(
  runtime: RuntimeTarget,
  output: string,
  running: string,
  config: string,
  exec: string[],
): Promise<string | undefined> {
  if (existsSync(pendingCommandPath(output))) return undefined;
  const outcome = await applyChangeAtRuntime(running, config, runtime.socket, runtime.drainTimeoutMs);
  if (outcome.applied) return `applied over the Runtime API (${outcome.summary})`;
  log.info(`${outcome.reason}; running ${exec[0]} instead`);
  return undefined;
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

function runtimeFrom(args: RenderArgValues): RuntimeTarget | undefined {
  if (!args["runtime-socket"]) return undefined;
  if (args.exec === undefined) {
    throw new MhcError(
      "--runtime-socket applies what fits and leaves the rest to --exec; give --exec CMD",
      ExitCode.usage,
    );
  }
  return {
    socket: args["runtime-socket"],
    drainTimeoutMs: parseDuration(args["drain-timeout"], "drain-timeout"),
  };
}

/** `--watch`: keep -o FILE up to date on coalesced Marathon events and every --resync, until a signal. */
async function watchRender(
  args: RenderArgValues,
  rawArgs: string[],
  settings: WatchSettings,
  options: RenderOptions,
  exec?: string[],
  runtime?: RuntimeTarget,
) {
  // Without -o the refusal below stops before the writer is used.
  const output = args.output ?? "";
  const write = fileWriter(output, exec, options, gatesFrom(args), runtime);
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
    const runtime = runtimeFrom(args);
    const watch = watchSettingsFrom(args, rawArgs);
    // --watch refuses --from itself, whatever comes with it.
    if (watch) return watchRender(args, rawArgs, watch, options, exec, runtime);
    checkSnapshotSource(args.from, args._, rawArgs);
    const { snapshot } = await loadSnapshot(args, args._, rawArgs);
    let model: Model;
    if (args.output) {
      const write = fileWriter(args.output, exec, options, gates, runtime);
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
