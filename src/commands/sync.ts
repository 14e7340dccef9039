import process from "node:process";
import { type ArgsDef, defineCommand, type ParsedArgs } from "citty";
import pkg from "../../package.json" with { type: "json" };
import { branchFlag } from "../args/branch.ts";
import { gitTimeoutMs, maxDropPercent, numberFlag } from "../args/values.ts";
import type { RenderOptions } from "../core/model.ts";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { log, redact } from "../log.ts";
import { type LoadedSnapshot, loadSnapshot } from "../marathon/connection.ts";
import { measuredSync } from "../sync/metrics.ts";
import { publish, type SyncRequest, type SyncResult } from "../sync/publish.ts";
import { type WatchSettings, watchArgs, watchSettingsFrom } from "../watch/args.ts";
import { watchCommand } from "../watch/run.ts";
import { checkSnapshotSource, normaliseWithWarnings, renderOptionsFrom } from "./_render.ts";
import { gateArgs, gitArgs, haproxyArgs, marathonArgs, renderArgs } from "./_shared.ts";

export const syncArgs = {
  ...marathonArgs,
  ...renderArgs,
  repo: {
    type: "string",
    description: "Git repo to publish to: URL (ssh, https, file), bare repo, or local working repo",
    required: true,
  },
  init: {
    type: "boolean",
    description: "Create --repo as a new local repo when the folder is missing or empty",
  },
  path: { type: "string", description: "Path of the config inside the repo", default: "haproxy/haproxy.cfg" },
  branch: { type: "string", description: "Branch to publish to", default: "main" },
  layout: {
    type: "enum",
    options: ["single", "parts"] as string[],
    description:
      "Commit the config and its model as one file each, or each as a folder of parts (<path>.parts/)",
    default: "single",
  },
  workdir: {
    type: "string",
    description: "Where the clone is kept, a folder mhc creates (default: ~/.cache/mhc/sync/<hash of repo>)",
  },
  ...gitArgs,
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
  "metrics-file": {
    type: "string",
    valueHint: "PATH",
    description:
      "Write Prometheus metrics here after every sync (atomically, for node_exporter's textfile collector)",
  },
  ...watchArgs,
} as const satisfies ArgsDef;

type SyncArgValues = ParsedArgs<typeof syncArgs>;

function parseIdentity(author: string) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: git would silently drop them from the name
  const oneLine = !/[\u0000-\u001f\u007f]/.test(author);
  const match = oneLine ? /^ *([^<>]+?) *<([^<>\s]+@[^<>\s]+)>$/.exec(author) : null;
  if (!match)
    throw new MhcError(
      `--author must look like "Name <email>" on one line, not ${JSON.stringify(author)}`,
      ExitCode.usage,
    );
  return { name: match[1] as string, email: match[2] as string };
}

export interface SyncPlan {
  /** Everything publish() needs except what comes from the snapshot. */
  settings: Omit<SyncRequest, "candidate" | "appsInSnapshot" | "source" | "origin" | "snapshotBody">;
  options: RenderOptions;
  /** The snapshot comes from --from, not Marathon. */
  fromFile: boolean;
  metricsFile?: string;
}

/** Checks every sync flag once, before Marathon or git is touched. */
async function planSync(args: SyncArgValues, rawArgs: string[]): Promise<SyncPlan> {
  const identity = parseIdentity(args.author);
  branchFlag(args.branch, "branch");
  if (args["review-branch"] !== undefined) branchFlag(args["review-branch"], "review-branch");
  const options = await renderOptionsFrom(args, rawArgs);
  // Written as git stores it: no leading, doubled or trailing slash, no "." parts.
  const parts = args.path.split("/").filter((part) => part !== "" && part !== ".");
  const path = parts.join("/");
  if (
    path === "" ||
    args.path.endsWith("/") ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a line break in a path breaks every message naming it
    /[\u0000-\u001f\u007f]/.test(path) ||
    parts.includes("..") ||
    parts.some((p) => p.toLowerCase() === ".git")
  )
    throw new MhcError(
      `--path must be a file path inside the repo (not in .git), not ${JSON.stringify(args.path)}`,
      ExitCode.usage,
    );
  // A review branch that is the branch itself would publish what a gate refused.
  if (args["review-branch"] !== undefined && args["review-branch"] === args.branch)
    throw new MhcError(
      `--review-branch must differ from --branch (both are "${args.branch}"): a refused change would be published`,
      ExitCode.usage,
    );
  return {
    options,
    fromFile: args.from !== undefined,
    metricsFile: args["metrics-file"] || undefined,
    settings: {
      repo: args.repo,
      path,
      branch: args.branch,
      layout: args.layout as "single" | "parts",
      ...(args.workdir ? { workdir: args.workdir } : {}),
      init: args.init === true,
      gitTimeoutMs: gitTimeoutMs(args["git-timeout"]),
      identity,
      maxDropPercent: maxDropPercent(args["max-drop"]),
      force: args.force === true,
      ...(args["review-branch"] ? { reviewBranch: args["review-branch"] } : {}),
      validate: args.validate as "auto" | "always" | "never",
      haproxy: args.haproxy,
      dryRun: args["dry-run"] === true,
      pushAttempts: numberFlag(args["push-attempts"], "push-attempts", { min: 1, max: 100, integer: true }),
      renderOptions: options,
      version: pkg.version,
    },
  };
}

/** One sync: render the snapshot and publish it. The result says how it went; it never exits. */
function syncOnce(plan: SyncPlan, load: () => Promise<LoadedSnapshot>): Promise<SyncResult> {
  return measuredSync(plan.metricsFile, async (timeRender, noteRead) => {
    const loaded = await load();
    noteRead({ full: true, diverged: false });
    return publish({
      ...plan.settings,
      candidate: (incumbents) =>
        timeRender(() => normaliseWithWarnings(loaded.snapshot, { ...plan.options, incumbents })),
      appsInSnapshot: loaded.snapshot.apps.length,
      source: loaded.source,
      origin: plan.fromFile ? `snapshot ${loaded.source}` : `Marathon at ${loaded.source}`,
      snapshotBody: loaded.body,
    });
  });
}

/** The `--json` document (schema 1): the same keys every time, null where a value is absent. */
function jsonResult(plan: SyncPlan, result: SyncResult | { exitCode: number; message: string }) {
  const done = "changed" in result ? result : undefined;
  return {
    schema: 1,
    changed: done?.changed ?? false,
    dryRun: plan.settings.dryRun,
    commit: done?.commit ?? null,
    pushedTo: done?.pushedTo ?? null,
    branch: plan.settings.branch,
    path: plan.settings.path,
    gate: done?.gate ?? null,
    gatesOverridden: done?.gatesOverridden ?? [],
    quarantined: done?.quarantined ?? [],
    counts: done?.counts ?? null,
    exitCode: result.exitCode,
    message: result.message,
  };
}

/** `--watch`: sync at start, on coalesced Marathon events and every --resync, until a signal. */
async function watchSync(plan: SyncPlan, settings: WatchSettings, args: SyncArgValues, rawArgs: string[]) {
  await watchCommand({
    command: "sync",
    target: plan.settings.repo,
    settings,
    options: plan.options,
    marathon: { args, positionals: args._, rawArgs },
    refusals: [
      [plan.settings.dryRun, "--watch publishes; preview with a one-off mhc sync --dry-run instead"],
    ],
    sync: async (next, reason) => {
      const at = new Date().toISOString();
      let result: SyncResult;
      try {
        result = await measuredSync(plan.metricsFile, async (timeRender, noteRead) => {
          const rendered = await next();
          noteRead({ full: rendered.fullRead, diverged: rendered.diverged });
          return publish({
            ...plan.settings,
            candidate: (incumbents) => timeRender(() => rendered.modelFor(incumbents)),
            renderConfig: rendered.renderConfig,
            appsInSnapshot: rendered.appsInSnapshot,
            source: rendered.source,
            origin: `Marathon at ${rendered.source}`,
            ...(rendered.body !== undefined ? { snapshotBody: rendered.body } : {}),
          });
        });
      } catch (error) {
        const exitCode = error instanceof MhcError ? error.exitCode : ExitCode.usage;
        if (args.json)
          printJsonLine({
            ...jsonResult(plan, { exitCode, message: errorMessage(error) }),
            at,
            trigger: reason,
          });
        throw error;
      }
      if (args.json) printJsonLine({ ...jsonResult(plan, result), at, trigger: reason });
      return {
        ok: result.exitCode === ExitCode.ok,
        changed: result.commit !== undefined,
        message: result.message,
        ...(result.commit && result.exitCode === ExitCode.ok ? { commit: result.commit } : {}),
      };
    },
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
    // --watch refuses --from itself, whatever comes with it.
    if (watch) return watchSync(plan, watch, args, rawArgs);
    checkSnapshotSource(args.from, args._, rawArgs);
    const result = await syncOnce(plan, () => loadSnapshot(args, args._, rawArgs));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(jsonResult(plan, result), null, 2)}\n`);
    } else if (result.dryRun && result.changed) {
      process.stdout.write(`${result.summary}\n\n${result.diff}`);
    }
    if (result.exitCode === ExitCode.ok || result.exitCode === ExitCode.pushedForReview)
      log.info(result.message);
    else log.error(result.message);
    process.exitCode = result.exitCode;
  },
});
