import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unifiedDiff } from "../core/diff.ts";
import { checkGates, type GateVerdict } from "../core/gates.ts";
import type { Model } from "../core/model.ts";
import { type Changes, commitBody, commitSubject, compareConfigs, summariseConfig } from "../core/summary.ts";
import { ExitCode, MhcError } from "../errors.ts";
import {
  type Checkout,
  commitFiles,
  committedFile,
  type Identity,
  identityEnv,
  openWorkspace,
  pushHead,
  remoteBranchHead,
  resolveTarget,
} from "../git/repo.ts";
import { checkConfig, firstAlert, haproxyVersion } from "../haproxy/binary.ts";
import { log } from "../log.ts";

export interface SyncRequest {
  repo: string;
  path: string;
  branch: string;
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
  /** The rendered candidate and what it came from. */
  config: string;
  model: Model;
  appsInSnapshot: number;
  source: string;
  /** The Marathon JSON, when it was read in full (watch mode's incremental syncs have none). */
  snapshotBody?: string;
  version: string;
}

export interface SyncResult {
  changed: boolean;
  commit?: string;
  pushedTo?: string;
  gate?: GateVerdict;
  dryRun: boolean;
  diff?: string;
  summary?: string;
  counts: { services: number; servers: number; serversAdded: number; serversRemoved: number };
  exitCode: number;
  message: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commitMessage(request: SyncRequest, changes: Changes, note?: string): string {
  const body = request.snapshotBody;
  return [
    commitSubject(changes),
    "",
    ...(note ? [note, ""] : []),
    commitBody(changes, request.model.excluded),
    "",
    `Marathon: ${request.source}`,
    `Mhc-Version: ${request.version}`,
    body === undefined
      ? "Snapshot: events applied to the last full read"
      : `Snapshot-Digest: sha256:${createHash("sha256").update(body).digest("hex")}`,
  ].join("\n");
}

/** haproxy -c on the candidate, as --validate asks. An invalid config is never committed. */
async function validateCandidate(request: SyncRequest): Promise<void> {
  if (request.validate === "never") return;
  if (request.validate === "auto") {
    const available = await haproxyVersion(request.haproxy).then(
      () => true,
      () => false,
    );
    if (!available) {
      log.warn("haproxy not found: the candidate is not validated (--validate always makes this an error)");
      return;
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "mhc-validate-"));
  try {
    const file = join(dir, "haproxy.cfg");
    await writeFile(file, request.config);
    const result = await checkConfig(file, request.haproxy);
    if (!result.valid) {
      throw new MhcError(
        `the rendered config is not valid, nothing committed: ${firstAlert(result.output)}`,
        ExitCode.invalidConfig,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function counts(request: SyncRequest, changes?: Changes) {
  return {
    services: request.model.services.length,
    servers: request.model.services.reduce((n, s) => n + s.servers.length, 0),
    serversAdded: changes?.serversAdded ?? 0,
    serversRemoved: changes?.serversRemoved ?? 0,
  };
}

/** The review branch's current remote head ("" when it does not exist yet), for --force-with-lease. */
async function reviewBranchLease(checkout: Checkout, branch: string): Promise<string> {
  return (await remoteBranchHead(checkout.git, checkout.pushUrl as string, branch)) ?? "";
}

/**
 * One sync: read what is published, compare, gate, validate, commit, push. A push that loses a race
 * starts over from the new remote head (fetch + hard reset, render compared again; no rebase).
 */
export async function publish(request: SyncRequest): Promise<SyncResult> {
  const workspace = await openWorkspace(resolveTarget(request.repo, request.init), {
    branch: request.branch,
    workdir: request.workdir,
    create: !request.dryRun,
    git: { env: identityEnv(request.identity), timeoutMs: request.gitTimeoutMs },
  });
  let validated = false;
  try {
    for (let attempt = 1; attempt <= request.pushAttempts; attempt++) {
      const checkout = await workspace.checkout();
      const published = checkout ? await committedFile(checkout.git, request.path) : undefined;
      if (published === request.config) {
        return {
          changed: false,
          dryRun: request.dryRun,
          counts: counts(request),
          exitCode: ExitCode.ok,
          message: "no change",
        };
      }
      const before = summariseConfig(published ?? "");
      const after = summariseConfig(request.config);
      const changes = compareConfigs(before, after);
      const gate = request.force
        ? undefined
        : checkGates({
            published: before,
            candidate: after,
            changes,
            appsInSnapshot: request.appsInSnapshot,
            maxDropPercent: request.maxDropPercent,
          });
      const summary = commitMessage(
        request,
        changes,
        gate ? `Held for review: gate ${gate.gate}: ${gate.reason}` : undefined,
      );
      const base: SyncResult = {
        changed: true,
        dryRun: request.dryRun,
        counts: counts(request, changes),
        summary,
        exitCode: ExitCode.ok,
        message: "",
        ...(gate ? { gate } : {}),
      };
      if (request.dryRun) {
        const diff = unifiedDiff(published ?? "", request.config, `a/${request.path}`, `b/${request.path}`);
        const message = gate
          ? `dry run: gate ${gate.gate} would refuse: ${gate.reason}`
          : "dry run: changes found, nothing committed";
        return { ...base, diff, exitCode: gate ? ExitCode.gateRefused : ExitCode.ok, message };
      }
      if (gate && !request.reviewBranch) {
        return {
          ...base,
          exitCode: ExitCode.gateRefused,
          message: `refused by gate ${gate.gate}: ${gate.reason}; nothing pushed (--force publishes anyway, --review-branch holds it for review)`,
        };
      }
      if (!checkout) throw new MhcError("internal: no checkout", ExitCode.git);
      if (!validated) {
        await validateCandidate(request);
        validated = true;
      }
      const ref = `refs/heads/${gate ? request.reviewBranch : request.branch}`;
      if (gate && !checkout.pushUrl) {
        throw new MhcError(
          `refused by gate ${gate.gate}: ${gate.reason}; --review-branch needs a remote or bare repo`,
          ExitCode.gateRefused,
        );
      }
      // The review branch is replaced, but only if nobody moved it since we looked (force-with-lease).
      const lease = gate ? await reviewBranchLease(checkout, request.reviewBranch as string) : undefined;
      const commit = await commitFiles(
        checkout.git,
        [{ path: request.path, content: request.config }],
        summary,
      );
      if (!checkout.pushUrl) {
        return { ...base, commit, message: `committed ${commit.slice(0, 12)} to ${request.branch}` };
      }
      const outcome = await pushHead(checkout.git, checkout.pushUrl, ref, lease);
      if (outcome === "pushed") {
        const branch = ref.replace("refs/heads/", "");
        if (gate) {
          return {
            ...base,
            commit,
            pushedTo: branch,
            exitCode: ExitCode.pushedForReview,
            message: `gate ${gate.gate}: ${gate.reason}; pushed ${commit.slice(0, 12)} to review branch ${branch}`,
          };
        }
        return { ...base, commit, pushedTo: branch, message: `pushed ${commit.slice(0, 12)} to ${branch}` };
      }
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
