import { describe, expect, it } from "vitest";
import { reloadStrategies } from "../../../src/haproxy/reload/registry.ts";
import { runMhc } from "../../helpers/cli.ts";

describe("reload strategies registry", () => {
  it("mhc deploy offers one flag per entry, with its value hint and description, and asks for exactly one", async () => {
    expect(reloadStrategies.map((s) => s.name)).toEqual(["pid-file", "reload-cmd", "master-socket"]);
    const help = (await runMhc(["deploy", "--help"])).stdout;
    for (const { name, valueHint, description } of reloadStrategies) {
      const line = help.split("\n").find((l) => l.includes(`--${name}`));
      expect(line, name).toContain(valueHint);
      expect(line, name).toContain(description.slice(0, 30));
    }
    const none = await runMhc(["deploy", "--repo", "/nowhere", "--config", "/tmp/mhc-none.cfg"]);
    expect(none.code).toBe(2);
    for (const { name, valueHint } of reloadStrategies)
      expect(none.stderr).toContain(`--${name} ${valueHint}`);
  });
});
