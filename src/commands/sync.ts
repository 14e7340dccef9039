import process from "node:process";
import { type ArgsDef, defineCommand, type ParsedArgs } from "citty";
import pkg from "../../package.json" with { type: "json" };
import type { RenderOptions } from "../core/model.ts";
import { render } from "../core/render.ts";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { log, redact } from "../log.ts";
import { publish, type SyncRequest, type SyncResult } from "../sync/publish.ts";
import { type WatchSettings, watchArgs, watchSettingsFrom } from "../watch/args.ts";
import { watchUntilSignalled } from "../watch/run.ts";
import { StatusFile } from "../watch/status.ts";
import {
  fetchFromConnection,
  gateArgs,
  haproxyArgs,
  integerFlag,
  type LoadedSnapshot,
  loadSnapshot,
  marathonArgs,
  marathonConnection,
  maxDropPercent,
  normaliseWithWarnings,
  renderArgs,
  renderOptionsFrom,
} from "./_shared.ts";

export const syncArgs = {
  ...marathonArgs,
  ...renderArgs,
  repo: {
    type: "string",
    description: "Git repo to publish to: URL (ssh, https, file), bare repo, or local working repo",
    required: true,
  },
  path: { type: "string", description: "Path of the config inside the repo", default: "haproxy/haproxy.cfg" },
  branch: { type: "string", description: "Branch to publish to", default: "main" },
  workdir: {
    type: "string",
    description: "Where the clone is kept (default: ~/.cache/mhc/sync/<hash of repo>)",
  },
  author: {
    type: "string",
    description: "Commit author and committer",
    default: "mhc <mhc@localhost>",
    valueHint: "Name <email>",
  },
  ...gateArgs,
  "review-branch": {
    type: "string",
    description: "Push a change a gate refused to this branch (replaced safely) instead",
  },
  validate: {
    type: "enum",
    options: ["auto", "always", "never"] as string[],
    description: "Check the candidate with haproxy -c",
    default: "auto",
  },
  ...haproxyArgs,
  "dry-run": { type: "boolean", description: "Print the summary and diff; commit and push nothing" },
  "push-attempts": { type: "string", description: "Attempts when a push loses a race", default: "5" },
  json: {
    type: "boolean",
    description: "Print a machine-readable result on stdout (with --watch: one line per sync)",
  },
  ...watchArgs,
} as const satisfies ArgsDef;

type SyncArgValues = ParsedArgs<typeof syncArgs>;

function parseIdentity(author: string) {
  const match = /^\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(author);
  if (!match) throw new MhcError(`--author must look like "Name <email>", not "${author}"`, ExitCode.usage);
  return { name: match[1] as string, email: match[2] as string };
}

export interface SyncPlan {
  /** Everything publish() needs except what comes from the snapshot. */
  settings: Omit<SyncRequest, "config" | "model" | "appsInSnapshot" | "source" | "snapshotBody">;
  options: RenderOptions;
}

/** Checks every sync flag once, before Marathon or git is touched. */
async function planSync(args: SyncArgValues, rawArgs: string[]): Promise<SyncPlan> {
  const identity = parseIdentity(args.author);
  const options = await renderOptionsFrom(args, rawArgs);
  const path = args.path.replace(/^\/+/, "");
  if (path === "" || path.split("/").includes(".."))
    throw new MhcError(`--path must be a file path inside the repo, not "${args.path}"`, ExitCode.usage);
  return {
    options,
    settings: {
      repo: args.repo,
      path,
      branch: args.branch,
      ...(args.workdir ? { workdir: args.workdir } : {}),
      identity,
      maxDropPercent: maxDropPercent(args["max-drop"]),
      force: args.force === true,
      ...(args["review-branch"] ? { reviewBranch: args["review-branch"] } : {}),
      validate: args.validate as "auto" | "always" | "never",
      haproxy: args.haproxy,
      dryRun: args["dry-run"] === true,
      pushAttempts: integerFlag(args["push-attempts"], "push-attempts", 1, 100),
      version: pkg.version,
    },
  };
}

/** One sync: render the snapshot and publish it. The result says how it went; it never exits. */
async function syncOnce(plan: SyncPlan, loaded: LoadedSnapshot, warned?: Set<string>): Promise<SyncResult> {
  const model = normaliseWithWarnings(loaded.snapshot, plan.options, warned);
  return publish({
    ...plan.settings,
    config: render(model, plan.options),
    model,
    appsInSnapshot: loaded.snapshot.apps.length,
    source: loaded.source,
    snapshotBody: loaded.body,
  });
}

const jsonResult = (result: SyncResult, plan: SyncPlan) => {
  const { diff: _diff, summary: _summary, ...rest } = result;
  return { ...rest, branch: plan.settings.branch, path: plan.settings.path };
};

/** `--watch`: sync at start, on coalesced Marathon events and every --resync, until a signal. */
async function watchSync(plan: SyncPlan, settings: WatchSettings, args: SyncArgValues, rawArgs: string[]) {
  if (plan.settings.dryRun)
    throw new MhcError(
      "--watch publishes; preview with a one-off mhc sync --dry-run instead",
      ExitCode.usage,
    );
  if (args.from !== undefined)
    throw new MhcError("--watch follows Marathon's event stream; it cannot watch --from", ExitCode.usage);
  const connection = await marathonConnection(args, args._, rawArgs);
  const status = new StatusFile(settings.statusFile, { command: "sync", target: plan.settings.repo });
  const warned = new Set<string>();
  await watchUntilSignalled(settings, connection, status, async (reason) => {
    const at = new Date().toISOString();
    let result: SyncResult;
    try {
      result = await syncOnce(plan, await fetchFromConnection(connection), warned);
    } catch (error) {
      const exitCode = error instanceof MhcError ? error.exitCode : ExitCode.usage;
      if (args.json) printJsonLine({ at, trigger: reason, exitCode, message: errorMessage(error) });
      throw error;
    }
    if (args.json) printJsonLine({ at, trigger: reason, ...jsonResult(result, plan) });
    return {
      ok: result.exitCode === ExitCode.ok,
      changed: result.commit !== undefined,
      message: result.message,
      ...(result.commit && result.exitCode === ExitCode.ok ? { commit: result.commit } : {}),
    };
  });
}

function printJsonLine(value: unknown): void {
  process.stdout.write(`${redact(JSON.stringify(value))}\n`);
}

export default defineCommand({
  meta: { name: "sync", description: "Render and publish topology changes to a git repo (GitOps)" },
  args: syncArgs,
  async run({ args, rawArgs }) {
    const plan = await planSync(args, rawArgs);
    const watch = watchSettingsFrom(args, rawArgs);
    if (watch) return watchSync(plan, watch, args, rawArgs);
    const result = await syncOnce(plan, await loadSnapshot(args, args._, rawArgs));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(jsonResult(result, plan), null, 2)}\n`);
    } else if (result.dryRun && result.changed) {
      process.stdout.write(`${result.summary}\n\n${result.diff}`);
    }
    if (result.exitCode === ExitCode.ok || result.exitCode === ExitCode.pushedForReview)
      log.info(result.message);
    else log.error(result.message);
    process.exitCode = result.exitCode;
  },
});
