import { describe, expect, it } from "vitest";
import { interleaved, type Run } from "../../scripts/bench/measure.ts";

describe("bench figures measured in turns", () => {
  it("runs the commands A B A B … after one warm-up round, and keeps only the measured runs of each", async () => {
    const order: string[] = [];
    let clock = 0;
    const contestant = (name: string) => ({
      before: () => order.push(`${name}:before`),
      run: async (): Promise<Run> => {
        order.push(name);
        clock += 1;
        return { wallMs: clock, code: 0, stdout: "", stderr: "" };
      },
    });
    const [a, b] = await interleaved("turns", 2, [contestant("a"), contestant("b")]);
    expect(order).toEqual([
      "a:before",
      "a",
      "b:before",
      "b",
      "a:before",
      "a",
      "b:before",
      "b",
      "a:before",
      "a",
      "b:before",
      "b",
    ]);
    // Run 1 and 2 were the warm-ups; a then ran 3rd and 5th, b 4th and 6th.
    expect(a?.runs.map((r) => r.wallMs)).toEqual([3, 5]);
    expect(b?.runs.map((r) => r.wallMs)).toEqual([4, 6]);
  });

  it("a command that fails stops the figure with its exit code", async () => {
    const failing = { run: async (): Promise<Run> => ({ wallMs: 1, code: 3, stdout: "", stderr: "boom" }) };
    await expect(interleaved("turns", 1, [failing])).rejects.toThrow(/exit 3\nboom/);
  });
});
