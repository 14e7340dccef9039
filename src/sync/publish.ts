import { createHash } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { configSection, unifiedDiff } from "../core/diff.ts";
import type { GateVerdict } from "../core/gates.ts";
import type { Dropped, Model, RenderOptions } from "../core/model.ts";
import {
  type Layout,
  type PartsKind,
  type PartsMemo,
  partsFolder,
  partsIndex,
  splitIntoParts,
} from "../core/parts.ts";
import { type Decision, decidePublish } from "../core/publish-decision.ts";
import {
  emptyModel,
  incumbentsOf,
  modelPath,
  type PublishedModel,
  parseModelFile,
  publishedModelOf,
  readConfigText,
  serialiseModel,
} from "../core/published.ts";
import { appPort, blameServices, quarantine } from "../core/quarantine.ts";
import { hidePatchPasswords, render } from "../core/render.ts";
import { ExitCode, MhcError } from "../errors.ts";
import type { Git } from "../git/git.ts";
import {
  type Checkout,
  commitFiles,
  type Identity,
  identityEnv,
  markPushed,
  openWorkspace,
  pushHead,
  remoteBranchHead,
  resolveTarget,
} from "../git/repo.ts";
import { readPublished } from "../git/tree.ts";
import { checkConfig, firstAlert, haproxyVersion } from "../haproxy/binary.ts";
import { ownedTempDir } from "../io/temp.ts";
import { log } from "../log.ts";

export interface SyncRequest {
  repo: string;
  path: string;
  branch: string;
  /** One file each for the config and its model, or each as a folder of parts (`--layout`). */
  layout: Layout;
  workdir?: string;
  /** Create a missing or empty local `repo` as a new repo. */
  init: boolean;
  /** Deadline of each git call (`--git-timeout`). */
  gitTimeoutMs: number;
  identity: Identity;
  maxDropPercent: number;
  force: boolean;
  reviewBranch?: string;
  validate: "auto" | "always" | "never";
  haproxy: string;
  dryRun: boolean;
  pushAttempts: number;
  renderOptions: RenderOptions;
  /** The candidate model, given who owns each bind in the published config (the incumbent rule). */
  candidate: (incumbents: ReadonlyMap<string, string>) => Model;
  appsInSnapshot: number;
  /** Where the snapshot came from, without credentials (the `Marathon:` trailer). */
  source: string;
  /** The same, in words for the diff's new side: `Marathon at URL` or `snapshot FILE`. */
  origin: string;
  /** The Marathon JSON, when it was read in full (watch mode's incremental syncs have none). */
  snapshotBody?: string;
  /** Renders a candidate model; watch mode passes one that reuses each unchanged service's text. */
  renderConfig?: (model: Model) => string;
  version: string;
}

export interface SyncResult {
  changed: boolean;
  commit?: string;
  pushedTo?: string;
  /** The gate that refused (or held for review) the change. */
  gate?: GateVerdict;
  /** Gates --force overrode; recorded in the commit. */
  gatesOverridden: GateVerdict[];
  /** Services HAProxy rejected, left out or kept as published. */
  quarantined: Dropped[];
  dryRun: boolean;
  diff?: string;
  summary?: string;
  counts: { services: number; servers: number; serversAdded: number; serversRemoved: number };
  exitCode: number;
  message: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Said once per process: a watch keeps reading an older repo until its config next changes. */
const saidFallback = new Set<string>();

/**
 * The model file this process wrote last and the model it wrote: a watch reads the published model
 * back every sync, and when the text is the same, so is the model (its services the very objects
 * the next candidate shares, which makes comparing them cheap).
 */
let lastModelFile: { text: string; model: PublishedModel } | undefined;

/**
 * What this process last committed to the branch. A watch reads the published files back every
 * sync; while HEAD is still that commit they are these, and reading 10+ MB out of git is skipped.
 */
let lastCommitted:
  | { key: string; commit: string; config: string; modelText: string; layout: Layout }
  | undefined;

const branchKey = (request: SyncRequest) => `${request.repo}\u0000${request.branch}\u0000${request.path}`;

async function publishedFiles(
  git: Git,
  request: SyncRequest,
): Promise<{ config: string | undefined; modelText: string | undefined; layout?: Layout }> {
  if (lastCommitted?.key === branchKey(request)) {
    const head = await git.run(["rev-parse", "--verify", "--quiet", "HEAD"]);
    if (head.ok && head.stdout.trim() === lastCommitted.commit) return lastCommitted;
  }
  const [config, model] = await Promise.all([
    readPublished(git, "HEAD", request.path),
    readPublished(git, "HEAD", modelPath(request.path)),
  ]);
  // A broken config folder counts as no config, so this sync writes it again; a broken model folder
  // is an unreadable model file: the published config is read back until the next commit.
  if (config && config.text === undefined)
    log.warn(
      `${partsFolder(request.path)} is broken at HEAD (its index is missing or names a missing part); this sync writes it again`,
    );
  const modelText = model && model.text === undefined ? "" : model?.text;
  return { config: config?.text, modelText, ...(config ? { layout: config.layout } : {}) };
}

/** The last split of each published file, by path: a watch splits again only what changed. */
const lastSplits = new Map<string, PartsMemo>();

/**
 * What a commit writes and what it clears: each file whole, or as a parts folder; the other layout's
 * files go, so a repo switches layout in one commit.
 */
function publishedChanges(
  layout: Layout,
  files: { path: string; content: string; kind: PartsKind }[],
): { files: { path: string; content: string }[]; remove: string[] } {
  const remove = files.flatMap(({ path }) => [path, partsFolder(path)]);
  if (layout === "single") return { files, remove };
  return {
    files: files.flatMap(({ path, content, kind }) => {
      const { index, parts, memo } = splitIntoParts(content, kind, lastSplits.get(path));
      lastSplits.set(path, memo);
      const folder = partsFolder(path);
      return [
        ...parts.map((part) => ({ path: `${folder}/${part.name}`, content: part.text })),
        { path: `${folder}/${partsIndex}`, content: index },
      ];
    }),
    remove,
  };
}

function modelFile(model: PublishedModel): string {
  const text = serialiseModel(model);
  lastModelFile = { text, model };
  return text;
}

/**
 * The published model: the model file beside the config, or (published by an older mhc, or the
 * file unreadable) the config read back by the documented reader.
 */
function publishedModel(
  config: string | undefined,
  modelText: string | undefined,
  path: string,
): PublishedModel {
  if (modelText !== undefined && modelText === lastModelFile?.text) return lastModelFile.model;
  const model = modelText === undefined ? undefined : parseModelFile(modelText);
  if (model) return model;
  if (config === undefined) return emptyModel;
  if (!saidFallback.has(path)) {
    saidFallback.add(path);
    log.info(
      `${modelText === undefined ? "no" : "an unreadable"} ${modelPath(path)} in the repo; reading the published config itself until the next commit writes it`,
    );
  }
  return readConfigText(config);
}

/** Whether haproxy -c runs, as --validate asks. */
async function validating(request: SyncRequest): Promise<boolean> {
  if (request.validate === "never") return false;
  if (request.validate === "always") return true;
  const available = await haproxyVersion(request.haproxy).then(
    () => true,
    () => false,
  );
  if (!available)
    log.warn("haproxy not found: the candidate is not validated (--validate always makes this an error)");
  return available;
}

async function haproxyCheck(config: string, bin: string) {
  const dir = await ownedTempDir("mhc-validate");
  try {
    const file = join(dir, "haproxy.cfg");
    await writeFile(file, config);
    return { file, ...(await checkConfig(file, bin)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const quarantineRounds = 5;

/**
 * haproxy -c on the candidate. When HAProxy rejects it, the services its errors point to are
 * quarantined (their published version kept where there is one, unless that is rejected too) and
 * the rest is checked again. A config HAProxy rejects is never committed: an error no service can
 * be blamed for (the head, the stats listener) fails the sync with exit 6.
 */
async function validated(
  request: SyncRequest,
  model: Model,
  published: PublishedModel,
): Promise<{ model: Model; config: string; quarantined: Dropped[] }> {
  // App ports HAProxy rejected, and those whose published version it rejected too.
  const blamed = new Map<string, string>();
  const keepNot = new Set<string>();
  for (let round = 1; ; round++) {
    const { model: candidate, quarantined } =
      blamed.size > 0
        ? quarantine(model, blamed, published, (key) => !keepNot.has(key))
        : { model, quarantined: [] };
    const config = render(candidate, request.renderOptions);
    const result = await haproxyCheck(config, request.haproxy);
    if (result.valid) return { model: candidate, config, quarantined };
    const blame = blameServices(result.output, config, result.file, candidate.services);
    const byName = new Map(candidate.services.map((s) => [s.name, appPort(s)]));
    let progress = false;
    for (const [name, said] of blame.services) {
      const key = byName.get(name) as string;
      if (!blamed.has(key)) blamed.set(key, said);
      else if (!keepNot.has(key)) keepNot.add(key);
      else continue;
      progress = true;
    }
    if (blame.fatal !== undefined || !progress || round >= quarantineRounds) {
      throw new MhcError(
        `the rendered config is not valid, nothing committed: ${blame.fatal ?? firstAlert(result.output)}`,
        ExitCode.invalidConfig,
      );
    }
    for (const [name, said] of blame.services) log.warn(`HAProxy rejected ${name}, quarantined: ${said}`);
  }
}

const servers = (model: Model) => model.services.reduce((n, s) => n + s.servers.length, 0);

/** The review branch's current remote head ("" when it does not exist yet), for --force-with-lease. */
async function reviewBranchLease(checkout: Checkout, branch: string): Promise<string> {
  return (await remoteBranchHead(checkout.git, checkout.pushUrl as string, branch)) ?? "";
}

/**
 * One sync: read what is published, build and validate the candidate, decide (core), carry the
 * decision out. A push that loses a race starts over from the new remote head (fetch + hard reset,
 * candidate compared again; no rebase).
 */
export async function publish(request: SyncRequest): Promise<SyncResult> {
  const workspace = await openWorkspace(resolveTarget(request.repo, request.init), {
    branch: request.branch,
    workdir: request.workdir,
    create: !request.dryRun,
    git: { env: identityEnv(request.identity), timeoutMs: request.gitTimeoutMs },
  });
  const body = request.snapshotBody;
  const trailers = [
    `Marathon: ${request.source}`,
    `Mhc-Version: ${request.version}`,
    body === undefined
      ? "Snapshot: events applied to the last full read"
      : `Snapshot-Digest: sha256:${createHash("sha256").update(body).digest("hex")}`,
  ];
  const renderConfig = request.renderConfig ?? ((model: Model) => render(model, request.renderOptions));
  let validate: boolean | undefined;
  try {
    for (let attempt = 1; attempt <= request.pushAttempts; attempt++) {
      const checkout = await workspace.checkout();
      const {
        config: publishedConfig,
        modelText,
        layout,
      } = checkout
        ? await publishedFiles(checkout.git, request)
        : { config: undefined, modelText: undefined };
      const published = publishedModel(publishedConfig, modelText, request.path);
      let model = request.candidate(incumbentsOf(published));
      let config = renderConfig(model);
      let quarantined: Dropped[] = [];
      if (config !== publishedConfig) {
        validate ??= await validating(request);
        if (validate) ({ model, config, quarantined } = await validated(request, model, published));
      }
      const candidate = publishedModelOf(model);
      const decision = decidePublish({
        published: {
          ...(publishedConfig !== undefined ? { config: publishedConfig } : {}),
          model: published,
        },
        candidate: { config, model: candidate },
        appsInSnapshot: request.appsInSnapshot,
        maxDropPercent: request.maxDropPercent,
        force: request.force,
        dryRun: request.dryRun,
        branch: request.branch,
        ...(request.reviewBranch ? { reviewBranch: request.reviewBranch } : {}),
        canPush: checkout?.pushUrl !== undefined || request.dryRun,
        trailers,
        ...(layout !== undefined && layout !== request.layout ? { relayout: request.layout } : {}),
      });
      const candidateText = modelFile(candidate);
      const outcome = await carryOut(decision, {
        request,
        checkout,
        files: [
          { path: request.path, content: config, kind: "config" },
          { path: modelPath(request.path), content: candidateText, kind: "model" },
        ],
        diff: () =>
          hidePatchPasswords(
            unifiedDiff(
              publishedConfig ?? "",
              config,
              `a/${request.path}\t(published)`,
              `b/${request.path}\t(${request.origin})`,
              3,
              configSection,
            ),
          ),
        base: {
          changed: decision.kind !== "unchanged",
          gatesOverridden: decision.kind !== "unchanged" && request.force ? decision.gates : [],
          quarantined,
          dryRun: request.dryRun,
          counts: {
            services: model.services.length,
            servers: servers(model),
            serversAdded: decision.kind === "unchanged" ? 0 : decision.changes.serversAdded,
            serversRemoved: decision.kind === "unchanged" ? 0 : decision.changes.serversRemoved,
          },
          exitCode: ExitCode.ok,
        },
      });
      if (outcome !== "race lost" && decision.kind === "commit" && outcome.commit)
        lastCommitted = {
          key: branchKey(request),
          commit: outcome.commit,
          config,
          modelText: candidateText,
          layout: request.layout,
        };
      if (outcome !== "race lost") return outcome;
      if (attempt === request.pushAttempts) break;
      log.info(
        `push lost a race (attempt ${attempt} of ${request.pushAttempts}); starting over from the new remote head`,
      );
      await sleep(50 + Math.random() * 200 * attempt);
    }
    throw new MhcError(
      `push rejected ${request.pushAttempts} times (the remote keeps moving); nothing lost, run again`,
      ExitCode.git,
    );
  } finally {
    await workspace.release();
  }
}

interface Effects {
  request: SyncRequest;
  checkout: Checkout | undefined;
  files: { path: string; content: string; kind: PartsKind }[];
  diff: () => string;
  base: Omit<SyncResult, "message">;
}

/** Carries a decision out: commit, push (to the branch or the review branch), or just report. */
async function carryOut(
  decision: Decision,
  { request, checkout, files, diff, base }: Effects,
): Promise<SyncResult | "race lost"> {
  if (decision.kind === "unchanged") return { ...base, message: "no change" };
  const gate = decision.gates[0];
  const described = { ...base, summary: decision.message, ...(gate && !request.force ? { gate } : {}) };
  if (decision.kind === "dry-run") {
    const message = gate
      ? request.force
        ? `dry run: gate ${gate.gate} would be overridden (--force): ${gate.reason}`
        : `dry run: gate ${gate.gate} would refuse: ${gate.reason}`
      : "dry run: changes found, nothing committed";
    const exitCode = gate && !request.force ? ExitCode.gateRefused : ExitCode.ok;
    return { ...described, diff: diff(), exitCode, message };
  }
  if (decision.kind === "refused")
    return { ...described, exitCode: ExitCode.gateRefused, message: decision.reason };
  if (!checkout) throw new MhcError("internal: no checkout", ExitCode.git);
  const ref = `refs/heads/${decision.branch}`;
  // The review branch is replaced, but only if nobody moved it since we looked (force-with-lease).
  const lease = decision.kind === "review" ? await reviewBranchLease(checkout, decision.branch) : undefined;
  const changes = publishedChanges(request.layout, files);
  const commit = await commitFiles(checkout.git, changes.files, decision.message, {
    worktree: !checkout.pushUrl,
    remove: changes.remove,
    fileOnly: files.map((f) => f.path),
  });
  if (!checkout.pushUrl)
    return { ...described, commit, message: `committed ${commit.slice(0, 12)} to ${decision.branch}` };
  if ((await pushHead(checkout.git, checkout.pushUrl, ref, lease)) !== "pushed") return "race lost";
  if (decision.kind === "commit") await markPushed(checkout.git, decision.branch, commit);
  const pushed = `pushed ${commit.slice(0, 12)} to`;
  if (decision.kind === "review") {
    const held = decision.gates[0] as GateVerdict;
    return {
      ...described,
      commit,
      pushedTo: decision.branch,
      exitCode: ExitCode.pushedForReview,
      message: `gate ${held.gate}: ${held.reason}; ${pushed} review branch ${decision.branch}`,
    };
  }
  const forced =
    decision.overridden.length > 0
      ? ` (--force overrode ${decision.overridden.map((g) => g.gate).join(", ")})`
      : "";
  return {
    ...described,
    commit,
    pushedTo: decision.branch,
    message: `${pushed} ${decision.branch}${forced}`,
  };
}
