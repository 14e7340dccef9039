import { describe, expect, it } from "vitest";
import { didYouMean } from "../src/usage.ts";

describe("didYouMean", () => {
  it("names the closest candidate for a typo", () => {
    expect(didYouMean("rendr", ["render", "diff", "sync"])).toBe(' (did you mean "render"?)');
    expect(didYouMean("--dryrun", ["--dry-run", "--repo"])).toBe(' (did you mean "--dry-run"?)');
    expect(didYouMean("snyc", ["render", "sync"])).toBe(' (did you mean "sync"?)');
  });

  it("says nothing when no candidate is close", () => {
    expect(didYouMean("--no-such-flag", ["--verbose", "--quiet"])).toBe("");
    expect(didYouMean("x", ["render"])).toBe("");
  });
});
