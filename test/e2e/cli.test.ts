import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { json, type MarathonServer, startMarathon } from "../helpers/marathon.ts";
import { freePort } from "../helpers/net.ts";

const dir = mkdtempSync(join(tmpdir(), "mhc-cli-"));
const snapshotV1 = snapshotOf(hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31001] })]));
const snapshotV2 = snapshotOf(
  hostApp(
    "/web",
    [10000],
    [task({ host: "10.0.0.1", ports: [31001] }), task({ host: "10.0.0.2", ports: [31002] })],
  ),
);
const v1File = join(dir, "v1.json");
const v2File = join(dir, "v2.json");
writeFileSync(v1File, JSON.stringify(snapshotV1));
writeFileSync(v2File, JSON.stringify(snapshotV2));

let marathon: MarathonServer;
beforeAll(async () => {
  marathon = await startMarathon(() => json(snapshotV1));
});
afterAll(async () => {
  await marathon.close();
});

describe("basics", () => {
  it("--version prints the package version", async () => {
    const result = await runMhc(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it("--help lists the commands; each command has its own help", async () => {
    const root = await runMhc(["--help"]);
    expect(root.code).toBe(0);
    for (const name of ["render", "diff", "validate"]) expect(root.stdout).toContain(name);
    const render = await runMhc(["render", "--help"]);
    expect(render.code).toBe(0);
    for (const flag of [
      "--marathon",
      "--from",
      "--auth",
      "--token",
      "--ca-file",
      "--timeout",
      "--group",
      "--head",
      "--http-port",
      "--output",
      "--json",
    ]) {
      expect(render.stdout).toContain(flag);
    }
  });

  it("an unknown option is refused (exit 2), so a typo never changes behaviour silently", async () => {
    const result = await runMhc(["render", "--from", v1File, "--dryrun"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option "--dryrun"');
    expect(result.stdout).toBe("");
  });

  it("an unknown command is refused (exit 2)", async () => {
    const result = await runMhc(["rendr"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "rendr"');
  });
});

describe("render", () => {
  it("reads Marathon given as host:port and prints only the config on stdout", async () => {
    const result = await runMhc(["render", `127.0.0.1:${marathon.port}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("backend web_10000\n");
    expect(result.stdout).toContain("server 10.0.0.1_31001 10.0.0.1:31001 check");
    expect(result.stderr).toBe("");
  });

  it("takes MARATHON_URL (comma-separated, tried in order)", async () => {
    const dead = await freePort();
    const result = await runMhc(["render", "--retries", "0"], {
      env: { MARATHON_URL: `127.0.0.1:${dead}, ${marathon.url}` },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("backend web_10000");
  });

  it("--from - reads stdin; --json prints the model", async () => {
    const result = await runMhc(["render", "--from", "-", "--json"], { input: JSON.stringify(snapshotV2) });
    expect(result.code).toBe(0);
    const model = JSON.parse(result.stdout);
    expect(model.services[0].servers.map((s: { name: string }) => s.name)).toEqual([
      "10.0.0.1_31001",
      "10.0.0.2_31002",
    ]);
    expect(model.excluded).toEqual([]);
  });

  it("-o writes atomically, then leaves an unchanged file alone (content and mtime)", async () => {
    const out = join(dir, "unchanged.cfg");
    expect((await runMhc(["render", "--from", v1File, "-o", out])).code).toBe(0);
    const first = readFileSync(out, "utf8");
    const old = new Date("2020-01-01T00:00:00Z");
    utimesSync(out, old, old);
    const again = await runMhc(["render", "--from", v1File, "-o", out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("unchanged");
    expect(readFileSync(out, "utf8")).toBe(first);
    expect(statSync(out).mtimeMs).toBe(old.getTime());
    expect(readdirSync(dir).filter((f) => f.includes(".tmp") || f.startsWith(".unchanged"))).toEqual([]);
  });

  it("-o over an existing config passes the safety gates: a gutted render keeps the file (exit 10)", async () => {
    const out = join(dir, "gated.cfg");
    const empty = join(dir, "empty.json");
    writeFileSync(empty, JSON.stringify({ apps: [] }));
    expect((await runMhc(["render", "--from", v2File, "-o", out])).code).toBe(0);
    const published = readFileSync(out, "utf8");
    const refused = await runMhc(["render", "--from", empty, "-o", out]);
    expect(refused.code).toBe(10);
    expect(refused.stderr).toContain("refused by gate no-apps");
    expect(readFileSync(out, "utf8")).toBe(published);
    const halved = await runMhc(["render", "--from", v1File, "-o", out, "--max-drop", "40"]);
    expect(halved.code).toBe(10);
    expect(halved.stderr).toContain("refused by gate max-drop: 1 of 2 servers (50.0%)");
    expect((await runMhc(["render", "--from", v1File, "-o", out])).code).toBe(0);
    expect((await runMhc(["render", "--from", empty, "-o", out, "--force"])).code).toBe(0);
    expect(readFileSync(out, "utf8")).not.toContain("backend web_10000");
    // A first write is never gated.
    const fresh = join(dir, "fresh.cfg");
    expect((await runMhc(["render", "--from", empty, "-o", fresh])).code).toBe(0);
  });

  it("warnings go to stderr, never into the config", async () => {
    const bad = join(dir, "bad-label.json");
    writeFileSync(
      bad,
      JSON.stringify(snapshotOf(hostApp("/x", [10000], [task()], { labels: { HAPROXY_0_VHOST: "a\nb" } }))),
    );
    const result = await runMhc(["render", "--from", bad]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'app /x port index 0 skipped: HAPROXY_0_VHOST "a\\nb" contains a line break',
    );
    expect(result.stdout).not.toContain("/x");
  });

  it("the same snapshot renders byte-identical output on every run", async () => {
    const a = await runMhc(["render", "--from", "fixtures/real-100-apps.json"]);
    const b = await runMhc(["render", "--from", "fixtures/real-100-apps.json"]);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });
});

describe("errors: one line, a documented exit code, no partial output", () => {
  const out = join(dir, "kept.cfg");
  const keep = "# the installed config\n";

  const expectFailure = async (
    args: string[],
    code: number,
    message: string,
    env: Record<string, string> = {},
  ) => {
    writeFileSync(out, keep);
    const result = await runMhc([...args, "-o", out], { env });
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    // One line; a usage error adds one more that points to the command's help.
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(code === 2 ? 2 : 1);
    if (code === 2) expect(lines[1]).toBe('mhc: see "mhc render --help"');
    expect(result.stdout).toBe("");
    expect(readFileSync(out, "utf8")).toBe(keep);
    return result;
  };

  it("unreachable Marathon: exit 3", async () => {
    const dead = await freePort();
    await expectFailure(["render", `127.0.0.1:${dead}`, "--retries", "0"], 3, "Marathon unreachable");
  });

  it("401: exit 4, and credentials never show, not even with --verbose", async () => {
    const locked = await startMarathon(() => ({ status: 401, body: "" }));
    try {
      const url = locked.url.replace("http://", "http://admin:hunter2secret@");
      const result = await expectFailure(["render", url], 4, "refused the credentials (HTTP 401)");
      expect(result.stderr).not.toContain("hunter2secret");
      const verbose = await runMhc(["render", locked.url, "--auth", "admin:hunter2secret", "--verbose"]);
      expect(verbose.code).toBe(4);
      expect(verbose.stderr).not.toContain("hunter2secret");
      expect(verbose.stderr).not.toContain(btoa("admin:hunter2secret"));
    } finally {
      await locked.close();
    }
  });

  it("garbage and truncated JSON: exit 5", async () => {
    const garbage = join(dir, "garbage.json");
    writeFileSync(garbage, '{"apps": [{"id": "/a", "tasks": [');
    await expectFailure(["render", "--from", garbage], 5, "not valid JSON");
    writeFileSync(garbage, '{"kind": "not marathon"}');
    await expectFailure(["render", "--from", garbage], 5, "not a Marathon response");
  });

  it("a missing --from or --head file: exit 8", async () => {
    await expectFailure(["render", "--from", join(dir, "nope.json")], 8, "cannot read --from file");
    await expectFailure(
      ["render", "--from", v1File, "--head", join(dir, "nope.head")],
      8,
      "cannot read --head file",
    );
  });

  it("bad option values: exit 2", async () => {
    await expectFailure(
      ["render", "--from", v1File, "--http-port", "eighty"],
      2,
      "--http-port must be an integer",
    );
    await expectFailure(["render"], 2, "no Marathon address");
    await expectFailure(
      [
        "render",
        "--from",
        v1File,
        "--min-serv-port-ip-per-task",
        "20000",
        "--max-serv-port-ip-per-task",
        "10000",
      ],
      2,
      "--min-serv-port-ip-per-task 20000 is above --max-serv-port-ip-per-task 10000",
    );
  });
});

describe("marathon-lb's switches", () => {
  it("--strict-mode renders only ports labelled HAPROXY_{n}_ENABLED=true", async () => {
    const file = join(dir, "strict.json");
    const enabled = { labels: { HAPROXY_0_ENABLED: "true" } };
    writeFileSync(
      file,
      JSON.stringify(
        snapshotOf(hostApp("/on", [10000], [task()], enabled), hostApp("/off", [10001], [task()])),
      ),
    );
    const strict = await runMhc(["render", "--from", file, "--strict-mode"]);
    expect(strict.code).toBe(0);
    expect(strict.stdout).toContain("backend on_10000");
    expect(strict.stdout).not.toContain("backend off_10001");
    expect((await runMhc(["render", "--from", file])).stdout).toContain("backend off_10001");
  });

  it("--min/max-serv-port-ip-per-task choose the ports of IP-per-task apps without service ports", async () => {
    const file = join(dir, "ippt.json");
    const app = {
      id: "/ippt",
      networks: [{ mode: "container", name: "dcos" }],
      container: { portMappings: [{ containerPort: 8080 }] },
      tasks: [task({ ports: [], ipAddresses: ["9.0.0.7"] })],
    };
    writeFileSync(file, JSON.stringify(snapshotOf(app)));
    const range = ["--min-serv-port-ip-per-task", "20000", "--max-serv-port-ip-per-task", "20000"];
    const result = await runMhc(["render", "--from", file, ...range]);
    expect(result.stdout).toContain("bind *:20000");
  });

  it("render -o keeps IP-per-task ports stable: adding an app does not renumber the others", async () => {
    const ippt = (id: string) => ({
      id,
      networks: [{ mode: "container", name: "dcos" }],
      container: { portMappings: [{ containerPort: 8080 }] },
      tasks: [task({ ports: [], ipAddresses: ["9.0.0.7"] })],
    });
    const range = ["--min-serv-port-ip-per-task", "10050", "--max-serv-port-ip-per-task", "10052"];
    const config = join(dir, "ippt.cfg");
    const binds = () =>
      Object.fromEntries(
        [...readFileSync(config, "utf8").matchAll(/^frontend (\w+)_\d+\n {2}bind \*:(\d+)$/gm)].map((m) => [
          m[1],
          m[2],
        ]),
      );
    const render = async (ids: string[]) => {
      const file = join(dir, "ippt-apps.json");
      writeFileSync(file, JSON.stringify(snapshotOf(...ids.map(ippt))));
      expect((await runMhc(["render", "--from", file, ...range, "-o", config])).code).toBe(0);
    };
    await render(["/m", "/n"]);
    const before = binds();
    expect(Object.keys(before)).toEqual(["m", "n"]);
    // Hashed alone, /a would take the port /m holds.
    await render(["/a", "/m", "/n"]);
    expect(binds()).toMatchObject(before);
    expect(Object.keys(binds())).toEqual(["a", "m", "n"]);
  });
});

describe("diff", () => {
  it("exit 0 and no output when identical; exit 1 and a unified diff when different", async () => {
    const current = join(dir, "current.cfg");
    writeFileSync(current, (await runMhc(["render", "--from", v1File])).stdout);
    const same = await runMhc(["diff", current, "--from", v1File]);
    expect(same).toMatchObject({ code: 0, stdout: "" });
    const changed = await runMhc(["diff", current, "--from", v2File]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain(`--- a/${current}`);
    expect(changed.stdout).toContain("+  server 10.0.0.2_31002 10.0.0.2:31002 check");
  });

  it("reads Marathon addresses after FILE", async () => {
    const current = join(dir, "current-m.cfg");
    writeFileSync(current, (await runMhc(["render", "--from", v1File])).stdout);
    expect((await runMhc(["diff", current, marathon.url])).code).toBe(0);
  });

  it("errors are 2 or more", async () => {
    expect((await runMhc(["diff", join(dir, "missing.cfg"), "--from", v1File])).code).toBe(8);
    expect((await runMhc(["diff"])).code).toBe(2);
  });
});

describe.skipIf(!haproxyAvailable())("validate", () => {
  it("exit 6 with HAProxy's reason for an invalid config", async () => {
    const file = join(dir, "invalid.cfg");
    writeFileSync(file, "global\n  no-such-keyword 1\n");
    const result = await runMhc(["validate", file]);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain("is not a valid HAProxy config");
    expect(result.stderr).toContain("no-such-keyword");
  });

  it("HAProxy's messages are passed through once each, without its version preamble", async () => {
    const file = join(dir, "invalid-twice.cfg");
    writeFileSync(file, "global\n  no-such-keyword 1\n");
    const result = await runMhc(["validate", file]);
    expect(result.code).toBe(6);
    expect(result.stderr.match(/no-such-keyword/g)).toHaveLength(1);
    expect(result.stderr).not.toContain("haproxy version is");
    expect(result.stderr.trim().split("\n").at(-1)).toBe(
      `mhc: error: ${file} is not a valid HAProxy config (HAProxy's reasons above)`,
    );
  });

  it("a file that cannot be read is exit 8 (cannot read), not 6", async () => {
    const result = await runMhc(["validate", join(dir, "nope.cfg")]);
    expect(result.code).toBe(8);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^mhc: error: cannot read \S+nope\.cfg: .*no such file/i);
  });

  it("a folder is exit 8 (not a file), not HAProxy's folder mode or its usage text", async () => {
    const folder = mkdtempSync(join(dir, "folder-"));
    const result = await runMhc(["validate", folder]);
    expect(result.code).toBe(8);
    expect(result.stderr).toBe(`mhc: error: cannot read ${folder}: it is a folder, not a config file\n`);
  });

  it("an empty --haproxy is a usage error, not a runtime's message", async () => {
    const file = join(dir, "any-haproxy.cfg");
    writeFileSync(file, "global\n");
    const result = await runMhc(["validate", file, "--haproxy", ""]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("mhc: error: --haproxy needs a value");
  });

  it("exit 7 with a clear message when HAProxy is missing", async () => {
    const file = join(dir, "any.cfg");
    writeFileSync(file, "global\n");
    const result = await runMhc(["validate", file, "--haproxy", "/nonexistent/haproxy"]);
    expect(result.code).toBe(7);
    expect(result.stderr).toContain("HAProxy not found");
    expect(existsSync(file)).toBe(true);
  });
});

describe.runIf(process.env.MHC_BIN)("the compiled binary", () => {
  it("never loads a .env or bunfig.toml from the folder it runs in", async () => {
    const folder = mkdtempSync(join(tmpdir(), "mhc-autoload-"));
    const marker = join(folder, "preloaded");
    writeFileSync(join(folder, ".env"), `MARATHON_URL=${marathon.url}\n`);
    writeFileSync(join(folder, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(
      join(folder, "preload.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "");\n`,
    );
    const result = await runMhc(["render"], { cwd: folder, env: { MARATHON_URL: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no Marathon address");
    expect(existsSync(marker)).toBe(false);
  });
});
