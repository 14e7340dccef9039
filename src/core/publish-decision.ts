import { checkGates, type GateVerdict } from "./gates.ts";
import type { Layout } from "./parts.ts";
import type { PublishedModel } from "./published.ts";
import { type Changes, commitBody, commitSubject, compareModels } from "./summary.ts";

/**
 * What one sync does with a validated candidate, decided without touching git: nothing (unchanged),
 * report (dry run), refuse (a gate, no review branch), hold for review, or commit. The caller
 * carries the decision out.
 */

export interface DecisionInput {
  published: { config?: string; model: PublishedModel };
  candidate: { config: string; model: PublishedModel };
  appsInSnapshot: number;
  maxDropPercent: number;
  force: boolean;
  dryRun: boolean;
  branch: string;
  reviewBranch?: string;
  /** False for a local working repo (commit in place, nothing to push a review branch to). */
  canPush: boolean;
  /** `Marathon:`, `Mhc-Version:`, `Snapshot-Digest:` lines closing every message. */
  trailers: string[];
  /** Said first in the body (e.g. services quarantined because HAProxy rejected them). */
  notes?: string[];
  /** The repo stores the published files in the other layout (`--layout`): commit even if unchanged. */
  relayout?: Layout;
}

interface Described {
  changes: Changes;
  /** The full commit message: subject, blank line, body, blank line, trailers. */
  message: string;
  /** Gates that refused; with --force they are overridden and recorded. */
  gates: GateVerdict[];
}

export type Decision =
  | { kind: "unchanged" }
  | ({ kind: "dry-run" } & Described)
  | ({ kind: "refused"; reason: string } & Described)
  | ({ kind: "review"; branch: string } & Described)
  | ({ kind: "commit"; branch: string; overridden: GateVerdict[] } & Described);

const relayoutSubject = (layout: Layout) =>
  layout === "parts"
    ? "Store the config and its model as folders of parts"
    : "Store the config and its model as one file each";

export function decidePublish(input: DecisionInput): Decision {
  const sameConfig = input.published.config === input.candidate.config;
  if (sameConfig && input.relayout === undefined) return { kind: "unchanged" };
  const changes = compareModels(input.published.model, input.candidate.model);
  const gates = checkGates({
    published: input.published.model,
    changes,
    appsInSnapshot: input.appsInSnapshot,
    maxDropPercent: input.maxDropPercent,
  });
  const held = gates[0] && !input.force ? gates[0] : undefined;
  const overridden = input.force ? gates : [];
  const notes = [
    ...(held ? [`Held for review: gate ${held.gate}: ${held.reason}`] : []),
    ...(input.notes ?? []),
  ];
  const body = commitBody({ changes, overridden, notes });
  const trailers = [...input.trailers, ...overridden.map((g) => `Gate-Overridden: ${g.gate} (${g.detail})`)];
  const subject = sameConfig ? relayoutSubject(input.relayout as Layout) : commitSubject(changes);
  const said = sameConfig
    ? `The config and its model are unchanged; only how the repo stores them changes (--layout ${input.relayout}).`
    : body;
  const message = `${subject}\n\n${said}\n\n${trailers.join("\n")}`;
  const described = { changes, message, gates };
  if (input.dryRun) return { kind: "dry-run", ...described };
  if (!held) return { kind: "commit", branch: input.branch, overridden, ...described };
  const refusal = `refused by gate ${held.gate}: ${held.reason}`;
  if (!input.reviewBranch)
    return {
      kind: "refused",
      reason: `${refusal}; nothing pushed (--force publishes anyway, --review-branch holds it for review)`,
      ...described,
    };
  if (!input.canPush)
    return {
      kind: "refused",
      reason: `${refusal}; --review-branch needs a remote or bare repo`,
      ...described,
    };
  return { kind: "review", branch: input.reviewBranch, ...described };
}
