import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, tempDir } from "../helpers/git.ts";

describe("deploy's fetch cache", () => {
  it("a cache that cannot be created names the path and --workdir: exit 8", async () => {
    const dir = tempDir();
    const result = await runMhc([
      "deploy",
      "--repo",
      bareRepo(),
      "--config",
      join(dir, "haproxy.cfg"),
      "--reload-cmd",
      "true",
      "--workdir",
      "/sys/mhc-deploy-cache",
    ]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain(
      "cannot create /sys/mhc-deploy-cache: permission denied (--workdir chooses another place)",
    );
  });
});
