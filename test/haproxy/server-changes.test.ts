import { describe, expect, it } from "vitest";
import { fileDescriptorNeed } from "../../src/haproxy/config.ts";
import { planServerChanges } from "../../src/haproxy/server-changes.ts";

const head = `global
  log /dev/log local0

defaults
  mode tcp
  default-server init-addr last,libc,none
`;

const config = (servers: string[], extra = "") =>
  `${head}\nfrontend f\n  bind 127.0.0.1:8080\n  default_backend be\n${extra}\nbackend be\n  balance roundrobin\n${servers.map((s) => `  ${s}\n`).join("")}`;

describe("planServerChanges", () => {
  it("turns added, removed, moved, re-weighted and disabled servers into runtime changes", () => {
    const plan = planServerChanges(
      config([
        "server a 10.0.0.1:80 check",
        "server b 10.0.0.2:80",
        "server c 10.0.0.3:80",
        "server d 10.0.0.4:80",
      ]),
      config([
        "server a 10.0.0.9:8080 check",
        "server b 10.0.0.2:80 weight 5",
        "server c 10.0.0.3:80 disabled",
        "server e [::1]:80 check",
      ]),
    );
    expect(plan.runtime).toBe(true);
    if (!plan.runtime) return;
    expect(plan.changes.map((c) => `${c.kind} ${c.server.name}`)).toEqual([
      "remove d",
      "move a",
      "weight b",
      "state c",
      "add e",
    ]);
    expect(plan.changes.at(-1)?.server).toMatchObject({ host: "::1", port: 80, options: ["check"] });
    expect([...plan.backends.keys()]).toEqual(["be"]);
  });

  it("reorders without changes: nothing to apply", () => {
    const plan = planServerChanges(
      config(["server a 10.0.0.1:80", "server b 10.0.0.2:80"]),
      config(["server b 10.0.0.2:80", "server a 10.0.0.1:80"]),
    );
    expect(plan).toMatchObject({ runtime: true, changes: [] });
  });

  it("finds the sections of a config that starts with one or with a comment, and reads headers spacing aside", () => {
    const moved = (text: string) => text.replace("10.0.0.1:80", "10.0.0.2:80");
    const bare = config(["server a 10.0.0.1:80"]);
    const commented = `# rendered by mhc\n${bare}`;
    for (const installed of [bare, commented]) {
      const plan = planServerChanges(installed, moved(installed));
      expect(plan.runtime && plan.changes.map((c) => `${c.kind} ${c.server.name}`)).toEqual(["move a"]);
    }
    const spaced = moved(bare).replace("backend be\n", "backend  be\n");
    expect(planServerChanges(bare, spaced)).toMatchObject({ runtime: true, changes: [{ kind: "move" }] });
    const renamed = moved(bare).replace("backend be\n", "backend be2\n");
    expect(planServerChanges(bare, renamed)).toMatchObject({ runtime: false });
    expect(planServerChanges(bare, commented)).toMatchObject({ runtime: false });
  });

  it("compares only where the configs differ: the last section, a section inserted between others, the defaults section that governs the changed backend", () => {
    const backends = (servers: Record<string, string>) =>
      Object.entries(servers)
        .map(([name, address]) => `backend ${name}\n  server s ${address}\n`)
        .join("\n");
    const three = { a: "10.0.0.1:80", b: "10.0.0.2:80", c: "10.0.0.3:80" };
    const last = planServerChanges(
      `${head}\n${backends(three)}`,
      `${head}\n${backends({ ...three, c: "10.0.0.9:80" })}`,
    );
    expect(last).toMatchObject({ runtime: true, changes: [{ kind: "move", server: { backend: "c" } }] });
    const inserted = `${head}\n${backends({ a: three.a, x: "10.0.0.8:80", b: three.b, c: three.c })}`;
    expect(planServerChanges(`${head}\n${backends(three)}`, inserted)).toMatchObject({
      runtime: false,
      reason: "sections were added, removed or renamed",
    });
    // Only the defaults section last before a backend counts for it.
    const governed = (first: string, second: string, c: string) =>
      `${head}\ndefaults\n  ${first}\n\n${backends({ a: three.a })}\ndefaults\n  ${second}\n\n${backends({ b: three.b, c })}`;
    const inherit = "default-server inter 3s";
    expect(
      planServerChanges(governed(inherit, "mode tcp", three.c), governed(inherit, "mode tcp", "10.0.0.9:80")),
    ).toMatchObject({ runtime: true });
    expect(
      planServerChanges(governed("mode tcp", inherit, three.c), governed("mode tcp", inherit, "10.0.0.9:80")),
    ).toMatchObject({ runtime: false, reason: expect.stringContaining("default-server") });
  });

  it.each([
    [
      "a frontend setting",
      config(["server a 10.0.0.1:80"]),
      config(["server a 10.0.0.1:80"], "  maxconn 10\n"),
      "settings other than servers changed",
    ],
    [
      "a new section",
      config(["server a 10.0.0.1:80"]),
      `${config(["server a 10.0.0.1:80"])}\nbackend other\n`,
      "sections were added",
    ],
    [
      "changed server options",
      config(["server a 10.0.0.1:80"]),
      config(["server a 10.0.0.1:80 check"]),
      "options of server be/a changed",
    ],
    ["a host name", config(["server a 10.0.0.1:80"]), config(["server a db.internal:80"]), "host name"],
    [
      "a server line with a comment",
      config(["server a 10.0.0.1:80"]),
      config(["server a 10.0.0.2:80 # moved"]),
      "settings other than servers",
    ],
    [
      "default-server settings",
      config(["server a 10.0.0.1:80"]).replace("init-addr last,libc,none", "inter 3s"),
      config(["server a 10.0.0.2:80"]).replace("init-addr last,libc,none", "inter 3s"),
      "default-server settings runtime servers would not inherit",
    ],
  ])("reloads for %s", (_name, installed, candidate, reason) => {
    const plan = planServerChanges(installed, candidate);
    expect(plan.runtime).toBe(false);
    if (!plan.runtime) expect(plan.reason).toContain(reason);
  });
});

describe("fileDescriptorNeed", () => {
  it("counts listeners, checks and agent checks, twice maxconn (100 by default) and 32 of HAProxy's own", () => {
    expect(
      fileDescriptorNeed(
        config([
          "server a 10.0.0.1:80 check",
          "server b 10.0.0.2:80 check agent-check",
          "server c 10.0.0.3:80",
        ]),
      ),
    ).toBe(1 + 3 + 200 + 32);
    expect(fileDescriptorNeed(config([]).replace("log /dev/log local0", "maxconn 1000"))).toBe(1 + 2000 + 32);
  });
});
