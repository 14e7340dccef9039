import { describe, expect, it } from "vitest";
import { type DecisionInput, decidePublish } from "../../src/core/publish-decision.ts";
import { emptyModel } from "../../src/core/published.ts";
import { hosts, publishedModel, publishedService } from "../helpers/models.ts";

const model = (servers: number) => publishedModel([publishedService("/web", 10000, hosts(servers))]);

const input = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  published: { config: "old", model: model(4) },
  candidate: { config: "new", model: model(5) },
  appsInSnapshot: 1,
  maxDropPercent: 50,
  force: false,
  dryRun: false,
  branch: "main",
  canPush: true,
  trailers: ["Marathon: m", "Mhc-Version: 1", "Snapshot-Digest: sha256:0"],
  ...over,
});
const gutted = { candidate: { config: "new", model: model(1) } };

describe("decidePublish", () => {
  it.each([
    ["the same config: unchanged", { candidate: { config: "old", model: model(5) } }, "unchanged", undefined],
    ["a routine change: commit to the branch", {}, "commit", "main"],
    ["a first publish: commit", { published: { model: emptyModel } }, "commit", "main"],
    ["a dry run: report only", { dryRun: true }, "dry-run", undefined],
    ["a gated dry run: report only", { ...gutted, dryRun: true }, "dry-run", undefined],
    ["a gate, no review branch: refused", gutted, "refused", undefined],
    [
      "a gate with a review branch: held for review",
      { ...gutted, reviewBranch: "review" },
      "review",
      "review",
    ],
    [
      "a gate with a review branch but nowhere to push: refused",
      { ...gutted, reviewBranch: "review", canPush: false },
      "refused",
      undefined,
    ],
    ["a gate and --force: commit, overridden", { ...gutted, force: true }, "commit", "main"],
  ] as [string, Partial<DecisionInput>, string, string | undefined][])("%s", (_, over, kind, branch) => {
    const decision = decidePublish(input(over));
    expect(decision.kind).toBe(kind);
    expect("branch" in decision ? decision.branch : undefined).toBe(branch);
  });

  it("the message: subject, body, trailers; --force adds the override to body and trailers", () => {
    const decision = decidePublish(input({ ...gutted, force: true }));
    expect(decision.kind === "commit" && decision.message).toBe(
      [
        "haproxy: /web -3 servers",
        "",
        "Gate max-drop overridden with --force: 3 of 4 servers (75.0%) would disappear, more than --max-drop 50%",
        "",
        "backend web_10000 (app /web)",
        "    - 10.0.0.2:31000",
        "    - 10.0.0.3:31000",
        "    - 10.0.0.4:31000",
        "",
        "Servers: 4 → 1 (+0 -3)",
        "",
        "Marathon: m",
        "Mhc-Version: 1",
        "Snapshot-Digest: sha256:0",
        "Gate-Overridden: max-drop (3 of 4 servers)",
      ].join("\n"),
    );
  });

  it("a change held for review says so first; a refusal says how to publish anyway", () => {
    const review = decidePublish(input({ ...gutted, reviewBranch: "review" }));
    expect(review.kind === "review" && review.message.split("\n")[2]).toBe(
      "Held for review: gate max-drop: 3 of 4 servers (75.0%) would disappear, more than --max-drop 50%",
    );
    const refused = decidePublish(input(gutted));
    expect(refused.kind === "refused" && refused.reason).toBe(
      "refused by gate max-drop: 3 of 4 servers (75.0%) would disappear, more than --max-drop 50%; nothing pushed (--force publishes anyway, --review-branch holds it for review)",
    );
  });
});
