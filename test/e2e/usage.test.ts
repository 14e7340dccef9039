import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import deploy from "../../src/commands/deploy.ts";
import diff from "../../src/commands/diff.ts";
import render from "../../src/commands/render.ts";
import sync from "../../src/commands/sync.ts";
import validate from "../../src/commands/validate.ts";
import { hostApp, snapshotOf, task, webWithHosts } from "../helpers/apps.ts";
import { mhcCommand, repoRoot, runMhc, startMhc } from "../helpers/cli.ts";
import { startEventMarathon } from "../helpers/events.ts";
import { bareRepo, commits } from "../helpers/git.ts";
import { freePort } from "../helpers/net.ts";
import { eventually } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "mhc-usage-"));
const snapshotFile = join(dir, "apps.json");
writeFileSync(
  snapshotFile,
  JSON.stringify(snapshotOf(hostApp("/web", [10000], [task({ host: "10.0.0.1", ports: [31001] })]))),
);
const escapeCode = "\u001b[";

/** A usage error is two lines: the error first, then where to read more. */
function expectUsageError(
  result: { code: number; stderr: string; stdout: string },
  error: string,
  help: string,
) {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.split("\n")).toEqual([`mhc: error: ${error}`, `mhc: see "${help} --help"`, ""]);
}

describe("usage errors lead with the error, then point to --help", () => {
  it("an unknown command says so with a did-you-mean", async () => {
    expectUsageError(await runMhc(["rendr"]), 'unknown command "rendr" (did you mean "render"?)', "mhc");
  });

  it("an unknown option says so with a did-you-mean and the command's help", async () => {
    const result = await runMhc(["sync", "--from", snapshotFile, "--repo", dir, "--dryrun"]);
    expectUsageError(result, 'unknown option "--dryrun" (did you mean "--dry-run"?)', "mhc sync");
  });

  it("mhc --foo exits 2", async () => {
    expectUsageError(await runMhc(["--foo"]), 'unknown option "--foo"', "mhc");
  });

  it("a missing argument, a missing value and a wrong choice are usage errors", async () => {
    expectUsageError(await runMhc(["validate"]), "missing FILE: The config file to check", "mhc validate");
    expectUsageError(await runMhc(["render", "-o"]), "--output needs a value", "mhc render");
    expectUsageError(await runMhc(["sync", "--repo", ""]), "--repo needs a value", "mhc sync");
    expectUsageError(await runMhc(["render", "--from= "]), "--from needs a value", "mhc render");
    expectUsageError(
      await runMhc(["sync", "--repo", dir, "--validate", "sometimes"]),
      '--validate must be one of auto, always, never, not "sometimes"',
      "mhc sync",
    );
  });

  it("integer flags reject 2.5", async () => {
    const result = await runMhc(["sync", "--from", snapshotFile, "--repo", dir, "--push-attempts", "2.5"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--push-attempts must be an integer from 1 to 100, not "2.5"');
    const retries = await runMhc(["render", "127.0.0.1:1", "--retries", "2.5"]);
    expect(retries.code).toBe(2);
    expect(retries.stderr).toContain('--retries must be an integer from 0 to 20, not "2.5"');
  });

  it("an argument a command does not take is a usage error, not silently ignored", async () => {
    expectUsageError(
      await runMhc(["validate", "a.cfg", "b.cfg"]),
      'unexpected argument "b.cfg"',
      "mhc validate",
    );
    expectUsageError(
      await runMhc(["completion", "bash", "zsh"]),
      'unexpected argument "zsh"',
      "mhc completion",
    );
    expectUsageError(
      await runMhc(["deploy", "stray", "--repo", dir, "--config", join(dir, "x.cfg")]),
      'unexpected argument "stray"',
      "mhc deploy",
    );
    expectUsageError(
      await runMhc(["validate", "--", "a.cfg", "-b"]),
      'unexpected argument "-b"',
      "mhc validate",
    );
  });
});

describe("help", () => {
  it("bare mhc prints help (exit 0)", async () => {
    const result = await runMhc([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: mhc <command>");
    for (const name of ["render", "diff", "validate", "sync", "deploy", "completion"])
      expect(result.stdout).toContain(`\n  ${name} `);
  });

  it("mhc help help prints the overview, as bare mhc does", async () => {
    const result = await runMhc(["help", "help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe((await runMhc([])).stdout);
  });

  it("mhc help [cmd] works like --help; --help wins over everything else on the line", async () => {
    expect((await runMhc(["help"])).stdout).toBe((await runMhc(["--help"])).stdout);
    const help = await runMhc(["help", "sync"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await runMhc(["sync", "--help"])).stdout);
    const wins = await runMhc(["sync", "--bogus", "--help"]);
    expect(wins.code).toBe(0);
    expect(wins.stdout).toBe(help.stdout);
    expectUsageError(await runMhc(["help", "snyc"]), 'unknown command "snyc" (did you mean "sync"?)', "mhc");
  });

  it("help for every command lists every option it accepts, including the global ones", async () => {
    const commands = { render, diff, validate, sync, deploy };
    for (const [name, command] of Object.entries(commands)) {
      const help = (await runMhc([name, "--help"])).stdout;
      const listed = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
      const defined = Object.entries(command.args ?? {})
        .filter(([, def]) => def.type !== "positional")
        .map(([flag]) => `--${flag}`);
      expect(listed).toEqual([...defined, "--verbose", "--quiet", "--no-color", "--help", "--version"]);
    }
  });

  it("render's usage line shows the Marathon address positional", async () => {
    expect((await runMhc(["render", "--help"])).stdout).toContain("Usage: mhc render [options] [MARATHON…]");
    expect((await runMhc(["diff", "--help"])).stdout).toContain(
      "Usage: mhc diff [options] <FILE> [MARATHON…]",
    );
  });
});

describe("options before the subcommand", () => {
  it("mhc --dry-run sync is refused (exit 2) and pushes nothing", async () => {
    const remote = bareRepo();
    const result = await runMhc(["--dry-run", "sync", "--from", snapshotFile, "--repo", remote]);
    expectUsageError(
      result,
      'option "--dry-run" before the command; it goes after it: mhc sync --dry-run',
      "mhc",
    );
    expect(commits(remote)).toEqual([]);
  });

  it("mhc --no-such-flag sync exits 2", async () => {
    expectUsageError(
      await runMhc(["--no-such-flag", "sync"]),
      'unknown option "--no-such-flag" before the command',
      "mhc",
    );
  });

  it("a global option before the command applies: --quiet, --verbose, --version", async () => {
    const remote = bareRepo();
    const quiet = await runMhc(["--quiet", "sync", "--from", snapshotFile, "--repo", remote]);
    expect(quiet).toMatchObject({ code: 0, stderr: "" });
    expect(commits(remote)).toHaveLength(1);
    expect((await runMhc(["--version"])).stdout).toBe(`${pkg.version}\n`);
    expect((await runMhc(["-q", "--version"])).stdout).toBe(`${pkg.version}\n`);
  });

  it("--verbose with --quiet is a usage error, wherever each is", async () => {
    const both = await runMhc(["--verbose", "render", "--from", snapshotFile, "--quiet"]);
    expectUsageError(both, "choose --verbose or --quiet, not both", "mhc render");
    const after = await runMhc(["render", "--from", snapshotFile, "-q", "--verbose"]);
    expectUsageError(after, "choose --verbose or --quiet, not both", "mhc render");
  });
});

describe("--quiet leaves only errors", () => {
  it("warnings and progress lines go; errors stay", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify(snapshotOf(hostApp("/x", [10000], [task()], { labels: { HAPROXY_0_VHOST: "a\nb" } }))),
    );
    expect((await runMhc(["render", "--from", bad])).stderr).toContain("warning");
    const quiet = await runMhc(["render", "--from", bad, "--quiet"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toContain("global");
    const failed = await runMhc(["render", "--from", join(dir, "nope.json"), "-q"]);
    expect(failed.code).toBe(8);
    expect(failed.stderr).toContain("mhc: error: cannot read --from file");
  });
});

describe("slow work says what it is doing", () => {
  it("a render of 5,000 apps or more prints one progress line on stderr", async () => {
    const big = join(dir, "big.json");
    const apps = Array.from({ length: 5000 }, (_, i) =>
      hostApp(`/app-${i}`, [20000 + i], [task({ host: "10.0.0.1", ports: [31000 + (i % 1000)] })]),
    );
    writeFileSync(big, JSON.stringify(snapshotOf(...apps)));
    const result = await runMhc(["render", "--from", big, "-o", join(dir, "big.cfg")]);
    expect(result.code).toBe(0);
    expect(result.stderr.split("\n").filter((l) => l.includes("rendering 5000 apps"))).toHaveLength(1);
    const small = await runMhc(["render", "--from", snapshotFile, "-o", join(dir, "small.cfg")]);
    expect(small.stderr).not.toContain("rendering");
  });
});

/** Runs mhc under a real pseudo-terminal (util-linux `script`), the way a user's shell does. */
function underTerminal(args: string[], env: Record<string, string | undefined> = {}): string {
  const { cmd, args: prefix } = mhcCommand();
  const line = [cmd, ...prefix, ...args].map((a) => `'${a}'`).join(" ");
  return execFileSync("script", ["-q", "-e", "-c", line, "/dev/null"], {
    cwd: repoRoot,
    encoding: "utf8",
    env: unsetAsEmpty({
      ...process.env,
      NO_COLOR: undefined,
      FORCE_COLOR: undefined,
      TERM: "xterm",
      TEST: undefined,
      CI: undefined,
      ...env,
    }),
  });
}

/**
 * Unset keys become empty strings (which mean "unset" to mhc's checks): Deno's child_process merges
 * the given env into its own, so a key left out would keep the harness's value (vitest sets NO_COLOR).
 */
function unsetAsEmpty(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value ?? ""]));
}

const scriptAvailable = spawnSync("script", ["--version"]).status === 0;

describe.skipIf(!scriptAvailable)("colour only on a terminal", () => {
  it("a terminal gets colour", () => {
    expect(underTerminal(["--help"])).toContain(escapeCode);
  });

  it("NO_COLOR, FORCE_COLOR=0, TERM=dumb and --no-color turn it off", () => {
    expect(underTerminal(["--help"], { NO_COLOR: "1" })).not.toContain(escapeCode);
    expect(underTerminal(["--help"], { FORCE_COLOR: "0" })).not.toContain(escapeCode);
    expect(underTerminal(["--help"], { TERM: "dumb" })).not.toContain(escapeCode);
    expect(underTerminal(["--no-color", "--help"])).not.toContain(escapeCode);
  });

  it("never escape codes in a pipe or a file, even with FORCE_COLOR", async () => {
    const env = { NO_COLOR: undefined, FORCE_COLOR: "1", TERM: "xterm", TEST: undefined, CI: undefined };
    const help = await runMhc(["--help"], { env });
    expect(help.stdout).not.toContain(escapeCode);
    const error = await runMhc(["rendr"], { env });
    expect(error.stderr).not.toContain(escapeCode);
  });
});

/** Starts mhc with stdout into a pipe the reader closes after the first line, like `| head -1`. */
function closedEarly(
  cmd: string,
  args: string[],
): Promise<{ code: number | null; stderr: string; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let line = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.stdout.once("data", (c: Buffer) => {
      line = c.toString().split("\n")[0] ?? "";
      child.stdout.destroy();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr, line }));
  });
}

describe("a closed stdout ends mhc quietly", () => {
  const render = ["render", "--from", "fixtures/real-1000-apps.json"];

  it("mhc render | head -1: exit 0, nothing on stderr", async () => {
    const { cmd, args } = mhcCommand();
    const result = await closedEarly(cmd, [...args, ...render]);
    expect(result.line).toContain("Generated by mhc");
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });

  it("the same on Node (the bundle of src/cli.ts)", async () => {
    const bundle = join(dir, "mhc.mjs");
    execFileSync(join(repoRoot, "node_modules/.bin/bun"), [
      "build",
      join(repoRoot, "src/cli.ts"),
      "--target=node",
      "--format=esm",
      "--outfile",
      bundle,
    ]);
    const result = await closedEarly(process.execPath, [bundle, ...render]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });
});

describe("shell completion", () => {
  it("bash completes commands, options and choices from the same definitions as the help", async () => {
    const script = join(dir, "mhc.bash");
    const result = await runMhc(["completion", "bash"]);
    expect(result.code).toBe(0);
    writeFileSync(script, result.stdout);
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _mhc; echo "\${COMPREPLY[*]}"`,
          script,
          "mhc",
          ...words,
        ],
        { encoding: "utf8" },
      ).trim();
    expect(complete("rend")).toBe("render");
    expect(complete("--qu")).toBe("--quiet");
    expect(complete("sync", "--dry")).toBe("--dry-run");
    expect(complete("sync", "--validate", "a")).toBe("auto always");
    expect(complete("deploy", "--verb")).toBe("--verbose");
    expect(complete("help", "va")).toBe("validate");
  });

  it("zsh and fish scripts name every command and option; another shell is a usage error", async () => {
    const zsh = (await runMhc(["completion", "zsh"])).stdout;
    const fish = (await runMhc(["completion", "fish"])).stdout;
    expect(zsh.startsWith("#compdef mhc\n")).toBe(true);
    for (const name of ["render", "diff", "validate", "sync", "deploy"]) {
      expect(zsh).toContain(`'${name}:`);
      expect(fish).toContain(`-a ${name} `);
    }
    expect(zsh).toContain("'--dry-run[");
    expect(fish).toContain("__fish_seen_subcommand_from sync' -l dry-run");
    expectUsageError(
      await runMhc(["completion", "tcsh"]),
      'no completion for "tcsh": choose bash, zsh or fish',
      "mhc completion",
    );
  });
});

describe("log lines", () => {
  it("watch-mode log lines carry timestamps when stderr is not a terminal", async () => {
    const m = await startEventMarathon(webWithHosts(1));
    const p = startMhc(["render", "--watch", m.url, "-o", join(dir, "watched.cfg"), "--wait", "100ms:1s"]);
    try {
      await eventually(() => p.stderr().includes("written"), `the first write\n${p.stderr()}`);
      const logged = p.stderr().trim().split("\n");
      for (const line of logged) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mhc: /);
    } finally {
      await p.stop(5_000);
      await m.close();
    }
    // A one-off run logs without them.
    const once = await runMhc(["render", "--from", snapshotFile, "-o", join(dir, "once.cfg")]);
    expect(once.stderr).toMatch(/^mhc: /);
  });

  it("a runtime's own advice never reaches the user", async () => {
    const dead = await freePort();
    const result = await runMhc(["render", `127.0.0.1:${dead}`, "--retries", "0", "--verbose"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("Marathon unreachable");
    expect(result.stderr).not.toMatch(/verbose: true|Is the computer able to access the url/);
  });
});

const canDropPrivileges = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;

describe.skipIf(!canDropPrivileges || process.env.MHC_RUNTIME === "deno")("permission errors", () => {
  it("name the path and the option that changes it (--workdir)", () => {
    const home = mkdtempSync(join(tmpdir(), "mhc-readonly-home-"));
    chmodSync(home, 0o555);
    const remote = bareRepo();
    chmodSync(dir, 0o755);
    chmodSync(remote, 0o755);
    const { cmd, args } = mhcCommand();
    const result = spawnSync(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        cmd,
        ...args,
        "sync",
        "--from",
        snapshotFile,
        "--repo",
        remote,
      ],
      {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, HOME: home, XDG_CACHE_HOME: undefined, NO_COLOR: "1" },
      },
    );
    expect(result.stderr).toContain(join(home, ".cache/mhc"));
    expect(result.stderr).toContain("--workdir");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.status).toBe(8);
  });
});

describe("-h and -v work with every command, before or after its name", () => {
  it.each(["render", "diff", "validate", "sync", "deploy", "completion"])(
    "%s: -v before or after it and --version print the version; -h prints its help",
    async (command) => {
      for (const args of [
        ["-v", command],
        [command, "-v"],
        [command, "--version"],
      ]) {
        const result = await runMhc(args);
        expect(result, args.join(" ")).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
      }
      const help = await runMhc([command, "-h"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`mhc ${command}`);
      expect((await runMhc(["-h", command])).stdout).toBe(help.stdout);
    },
  );
});

describe("shell completion of option values", () => {
  it("bash completes option values (and arguments) as file names", async () => {
    const folder = mkdtempSync(join(tmpdir(), "mhc-complete-"));
    for (const name of ["haproxy.cfg", "hosts.json", "other.txt"]) writeFileSync(join(folder, name), "");
    const script = join(folder, "mhc.bash");
    writeFileSync(script, (await runMhc(["completion", "bash"])).stdout);
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _mhc; echo "\${COMPREPLY[*]}"`,
          script,
          "mhc",
          ...words,
        ],
        { encoding: "utf8", cwd: folder },
      )
        .trim()
        .split(" ")
        .sort();
    expect(complete("render", "-o", "h")).toEqual(["haproxy.cfg", "hosts.json"]);
    expect(complete("sync", "--from", "o")).toEqual(["other.txt"]);
    expect(complete("validate", "hap")).toEqual(["haproxy.cfg"]);
  });
});

describe("--help wins over everything else on the line", () => {
  it("also over an option before the command and over --verbose with --quiet", async () => {
    const help = (await runMhc(["sync", "--help"])).stdout;
    for (const args of [
      ["--dry-run", "sync", "--help"],
      ["--verbose", "--quiet", "sync", "--help"],
      ["-h", "--dry-run", "sync"],
      ["sync", "--help", "--verbose", "-q"],
    ]) {
      const result = await runMhc(args);
      expect(result, args.join(" ")).toMatchObject({ code: 0, stdout: help, stderr: "" });
    }
  });
});
