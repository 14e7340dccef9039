import { describe, expect, it } from "vitest";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { orderedParts, splitIntoParts } from "../../src/core/parts.ts";
import { publishedModelOf, serialiseModel } from "../../src/core/published.ts";
import { render } from "../../src/core/render.ts";
import { snapshotFromJson } from "../../src/core/snapshot.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";

/** A cluster of `apps` apps with three tasks each; `moved` moves the first task of that app. */
function cluster(apps: number, moved?: number) {
  const list = Array.from({ length: apps }, (_, a) =>
    hostApp(
      `/team/app-${String(a).padStart(4, "0")}`,
      [10000 + a],
      [0, 1, 2].map((t) =>
        task({
          id: `app-${a}.${t}`,
          host: `10.0.${a % 200}.${t + 1}`,
          ports: [a === moved && t === 0 ? 40000 : 31000 + t],
        }),
      ),
    ),
  );
  const model = normalise(snapshotFromJson(snapshotOf(...list), "test"), defaultRenderOptions);
  return { config: render(model, defaultRenderOptions), model: serialiseModel(publishedModelOf(model)) };
}

/** The file a parts folder holds: its parts joined in index order (undefined when the index is broken). */
const joinParts = (index: string, part: (name: string) => string | undefined) =>
  orderedParts(index, part)?.join("");

const asMap = (parts: { name: string; text: string }[]) => new Map(parts.map((p) => [p.name, p.text]));

function roundTrip(text: string, kind: "config" | "model") {
  const { index, parts } = splitIntoParts(text, kind);
  return joinParts(index, (name) => asMap(parts).get(name));
}

describe("parts layout", () => {
  const before = cluster(600);
  const after = cluster(600, 300);

  it("joined in index order, the parts are the config and the model file, byte for byte", () => {
    expect(roundTrip(before.config, "config")).toBe(before.config);
    expect(roundTrip(before.model, "model")).toBe(before.model);
    expect(roundTrip("", "config")).toBe("");
    expect(roundTrip("no newline at the end", "config")).toBe("no newline at the end");
    expect(roundTrip("global\n  daemon\n\n\nbackend é\n  server ü 1.2.3.4:5\n", "config")).toBe(
      "global\n  daemon\n\n\nbackend é\n  server ü 1.2.3.4:5\n",
    );
  });

  it("config parts start at a section and are named after it, so a folder of them is readable", () => {
    const { parts } = splitIntoParts(before.config, "config");
    expect(parts.length).toBeGreaterThan(20);
    for (const part of parts.slice(1)) {
      expect(part.text).toMatch(/^(frontend|backend|listen|userlist) /);
      const section = part.text.split("\n")[0]?.replace(/[^A-Za-z0-9._-]+/g, "-");
      expect(part.name).toMatch(new RegExp(`^${section?.replace(/[.]/g, "\\.")}(~\\d+)?\\.cfg$`));
    }
  });

  it("a moved server changes the one part it falls in; every other part keeps its name and text", () => {
    for (const kind of ["config", "model"] as const) {
      const old = splitIntoParts(before[kind], kind);
      const now = splitIntoParts(after[kind], kind);
      expect(now.index).toBe(old.index);
      const changed = now.parts.filter((p) => asMap(old.parts).get(p.name) !== p.text);
      expect(changed.map((p) => p.name)).toHaveLength(1);
    }
  });

  it("an app added or removed leaves the parts away from it as they were", () => {
    const fewer = cluster(599);
    const old = asMap(splitIntoParts(before.config, "config").parts);
    const now = splitIntoParts(fewer.config, "config").parts;
    const kept = now.filter((p) => old.get(p.name) === p.text);
    // The last app's sections fall in the last part or two; the shared frontends change too.
    expect(now.length - kept.length).toBeLessThanOrEqual(4);
  });

  it("a long part ends at the next section whatever its hash (a huge shared frontend stays apart)", () => {
    const huge = `global\n  daemon\nfrontend shared\n${"  acl a hdr(host) -i a.example\n".repeat(4000)}backend next\n  server s 1.2.3.4:5\n`;
    const { parts } = splitIntoParts(huge, "config");
    expect(parts.map((p) => p.name)).toEqual(["global.cfg", "backend-next.cfg"]);
  });

  it("the same name twice gets a numbered twin, still a valid part name", () => {
    const twice = `global\n${"backend same\n  server s 1.2.3.4:5\n".repeat(6000)}`;
    const { index, parts } = splitIntoParts(twice, "config");
    const names = parts.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("backend-same~2.cfg");
    expect(joinParts(index, (name) => asMap(parts).get(name))).toBe(twice);
  });

  it("names that differ only in case get a numbered twin (a case-insensitive checkout keeps both)", () => {
    const text = `global\n${"backend Same\n  server s 1.2.3.4:5\n".repeat(2000)}${"backend same\n  server s 1.2.3.4:5\n".repeat(2000)}`;
    const names = splitIntoParts(text, "config").parts.map((p) => p.name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
  });

  it("split with the last split's memo, a text gives exactly the parts of a split from scratch, step after step", () => {
    let random = 7;
    const next = (n: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    for (const kind of ["config", "model"] as const) {
      let apps = 400;
      let moved: number | undefined;
      let memo = splitIntoParts(cluster(apps)[kind], kind).memo;
      for (let step = 0; step < 12; step++) {
        const change = next(3);
        if (change === 0) moved = next(apps);
        else if (change === 1) apps += 1 + next(3);
        else apps -= 1 + next(3);
        const text = cluster(apps, moved)[kind];
        const fresh = splitIntoParts(text, kind);
        const reused = splitIntoParts(text, kind, memo);
        expect(reused.index).toBe(fresh.index);
        expect(reused.parts).toEqual(fresh.parts);
        memo = reused.memo;
      }
    }
    // Sections taken out or put in anywhere: a kept part may now be followed by a line that cuts no more.
    let names = Array.from({ length: 300 }, (_, i) => i);
    const sections = (list: number[]) =>
      `global\n${list.map((n) => `backend s${n}\n  server a 10.0.0.${n % 250}:80\n`).join("")}`;
    let last = splitIntoParts(sections(names), "config").memo;
    for (let step = 0; step < 200; step++) {
      const at = next(names.length);
      names =
        next(2) === 0
          ? names.filter((_, i) => i !== at)
          : [...names.slice(0, at), 1000 + step, ...names.slice(at)];
      const text = sections(names);
      const reused = splitIntoParts(text, "config", last);
      expect(reused.parts).toEqual(splitIntoParts(text, "config").parts);
      last = reused.memo;
    }
    // A long part (a huge shared frontend) whose end moves: the cut after it is worked out again.
    const huge = (acls: number, tail: string) =>
      `global\nfrontend shared\n${"  acl a hdr(host) -i a.example\n".repeat(acls)}${tail}`;
    const tail = Array.from({ length: 40 }, (_, i) => `backend b${i}\n  server s 1.2.3.4:5\n`).join("");
    const before = splitIntoParts(huge(3000, tail), "config");
    for (const text of [huge(2990, tail), huge(3000, `backend x\n${tail}`), huge(3000, ""), ""])
      expect(splitIntoParts(text, "config", before.memo).parts).toEqual(splitIntoParts(text, "config").parts);
  });

  it("a broken index is refused: a missing part, a bad or repeated name, no final newline", () => {
    const parts = new Map([
      ["a.cfg", "A"],
      ["b.cfg", "B"],
    ]);
    const read = (name: string) => parts.get(name);
    expect(joinParts("a.cfg\nb.cfg\n", read)).toBe("AB");
    expect(joinParts("a.cfg\nc.cfg\n", read)).toBeUndefined();
    expect(joinParts("a.cfg\na.cfg\n", read)).toBeUndefined();
    expect(joinParts("../a.cfg\n", read)).toBeUndefined();
    expect(joinParts("index\n", () => "x")).toBeUndefined();
    expect(joinParts("a.cfg\nb.cfg", read)).toBeUndefined();
    expect(orderedParts("", read)).toEqual([]);
  });
});
