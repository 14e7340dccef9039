import process from "node:process";
import { type ArgsDef, defineCommand } from "citty";
import pkg from "../../package.json" with { type: "json" };
import { render } from "../core/render.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { log } from "../log.ts";
import { publish } from "../sync/publish.ts";
import {
  loadSnapshot,
  marathonArgs,
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
  "max-drop": {
    type: "string",
    description: "Refuse when more than this percent of all servers would disappear",
    default: "50",
  },
  force: { type: "boolean", description: "Publish even when a safety gate refuses" },
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
  haproxy: {
    type: "string",
    description: "HAProxy binary for validation",
    default: "haproxy",
    valueHint: "bin",
  },
  "dry-run": { type: "boolean", description: "Print the summary and diff; commit and push nothing" },
  "push-attempts": { type: "string", description: "Attempts when a push loses a race", default: "5" },
  json: { type: "boolean", description: "Print a machine-readable result on stdout" },
} as const satisfies ArgsDef;

function parseIdentity(author: string) {
  const match = /^\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(author);
  if (!match) throw new MhcError(`--author must look like "Name <email>", not "${author}"`, ExitCode.usage);
  return { name: match[1] as string, email: match[2] as string };
}

function wholeNumber(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n > max)
    throw new MhcError(`--${flag} must be a number from 0 to ${max}, not "${value}"`, ExitCode.usage);
  return n;
}

export default defineCommand({
  meta: { name: "sync", description: "Render and publish topology changes to a git repo (GitOps)" },
  args: syncArgs,
  async run({ args, rawArgs }) {
    const identity = parseIdentity(args.author);
    const options = await renderOptionsFrom(args, rawArgs);
    const loaded = await loadSnapshot(args, args._, rawArgs);
    const model = normaliseWithWarnings(loaded.snapshot, options);
    const path = args.path.replace(/^\/+/, "");
    if (path === "" || path.split("/").includes(".."))
      throw new MhcError(`--path must be a file path inside the repo, not "${args.path}"`, ExitCode.usage);
    const result = await publish({
      repo: args.repo,
      path,
      branch: args.branch,
      ...(args.workdir ? { workdir: args.workdir } : {}),
      identity,
      maxDropPercent: wholeNumber(args["max-drop"], "max-drop", 100),
      force: args.force === true,
      ...(args["review-branch"] ? { reviewBranch: args["review-branch"] } : {}),
      validate: args.validate as "auto" | "always" | "never",
      haproxy: args.haproxy,
      dryRun: args["dry-run"] === true,
      pushAttempts: Math.max(1, wholeNumber(args["push-attempts"], "push-attempts", 100)),
      config: render(model, options),
      model,
      appsInSnapshot: loaded.snapshot.apps.length,
      source: loaded.source,
      snapshotBody: loaded.body,
      version: pkg.version,
    });
    if (args.json) {
      const { diff: _diff, summary: _summary, ...rest } = result;
      process.stdout.write(`${JSON.stringify({ ...rest, branch: args.branch, path }, null, 2)}\n`);
    } else if (result.dryRun && result.changed) {
      process.stdout.write(`${result.summary}\n\n${result.diff}`);
    }
    if (result.exitCode === ExitCode.ok || result.exitCode === ExitCode.pushedForReview)
      log.info(result.message);
    else log.error(result.message);
    process.exitCode = result.exitCode;
  },
});
