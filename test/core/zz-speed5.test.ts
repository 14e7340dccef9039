import { it } from "vitest";
import { generateSnapshot } from "../../scripts/bench/generate.ts";
import { shapeProblem, taskShapeProblem } from "../../src/core/normalise/shape.ts";
import { parseSnapshot } from "../../src/core/snapshot.ts";

it("speed", () => {
  const text = JSON.stringify(generateSnapshot({ apps: 10000, tasksPerApp: 10, seed: 42 }));
  const snapshot = parseSnapshot(text, "g");
  const t: Record<string, number[]> = { apps: [], tasks: [], touch: [] };
  let sink = 0;
  for (let r = 0; r < 15; r++) {
    let s = performance.now();
    for (const app of snapshot.apps) shapeProblem(app);
    t.apps?.push(performance.now() - s);
    s = performance.now();
    for (const app of snapshot.apps) {
      const ts = app.tasks ?? [];
      for (let i = 0; i < ts.length; i++) taskShapeProblem(ts[i], i);
    }
    t.tasks?.push(performance.now() - s);
    s = performance.now();
    for (const app of snapshot.apps) for (const task of app.tasks ?? []) sink += task.host ? 1 : 0;
    t.touch?.push(performance.now() - s);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]?.toFixed(1);
  console.log(
    Object.entries(t)
      .map(([k, v]) => `${k} ${median(v)}`)
      .join(", "),
    sink > 0,
  );
});
