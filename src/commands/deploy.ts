import process from "node:process";
import { defineCommand } from "citty";
import { gitTimeoutMs } from "../args/values.ts";
import { deploy } from "../deploy/deploy.ts";
import { deployStatus, formatStatus } from "../deploy/status.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { reloadStrategies } from "../haproxy/reload/registry.ts";
import type { Reloader } from "../haproxy/reload/strategy.ts";
import { gitArgs, haproxyArgs } from "./_shared.ts";

export default defineCommand({
  meta: {
    name: "deploy",
    description: "Pull the rendered config from git, validate it, install it atomically and reload HAProxy",
  },
  args: {
    repo: { type: "string", description: "Config repository (URL or local path)", valueHint: "URL|PATH" },
    path: {
      type: "string",
      description: "Config file inside the repository",
      default: "haproxy/haproxy.cfg",
    },
    ref: {
      type: "string",
      valueHint: "REF",
      description: "Branch, tag or commit to deploy",
      default: "main",
    },
    config: { type: "string", description: "Installed HAProxy config (required)", valueHint: "FILE" },
    ...strategyArgs(),
    ...haproxyArgs,
    workdir: {
      type: "string",
      description: "Cache of the fetched repository (default ~/.cache/mhc/deploy/<hash>)",
    },
    ...gitArgs,
    "retry-failed": {
      type: "boolean",
      description: "Try again a commit that failed to load (otherwise held until a newer commit)",
    },
    status: {
      type: "boolean",
      description:
        "Report what is installed, whether HAProxy loaded it, commits behind (--repo); exit 0 current, 1 behind or pending, >=2 error",
    },
    json: { type: "boolean", description: "With --status: print JSON (schema 1)" },
  },
  async run({ args }) {
    if (!args.config)
      throw new MhcError("--config FILE is required (the installed HAProxy config)", ExitCode.usage);
    if (args.status) {
      const given = reloadStrategies.some((s) => args[s.name] !== undefined);
      const status = await deployStatus({
        config: args.config,
        haproxy: args.haproxy,
        reloader: given ? chosenReloader(args) : undefined,
        repo: args.repo,
        ref: args.ref,
        path: args.path,
        workdir: args.workdir,
        gitTimeoutMs: gitTimeoutMs(args["git-timeout"]),
      });
      process.stdout.write(args.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      process.exitCode = status.exitCode;
      return;
    }
    if (!args.repo) throw new MhcError("--repo URL|PATH is required", ExitCode.usage);
    await deploy({
      repo: args.repo,
      ref: args.ref,
      path: args.path,
      config: args.config,
      reloader: chosenReloader(args),
      haproxy: args.haproxy,
      workdir: args.workdir,
      retryFailed: args["retry-failed"] === true,
      gitTimeoutMs: gitTimeoutMs(args["git-timeout"]),
    });
  },
});

function strategyArgs(): Record<string, { type: "string"; valueHint: string; description: string }> {
  return Object.fromEntries(
    reloadStrategies.map((s) => [
      s.name,
      { type: "string", valueHint: s.valueHint, description: s.description },
    ]),
  );
}

/** Exactly one reload strategy flag, bound to its value. */
function chosenReloader(args: Record<string, unknown>): Reloader {
  const given = reloadStrategies.filter((s) => args[s.name] !== undefined);
  const [strategy] = given;
  const value = strategy ? args[strategy.name] : undefined;
  if (given.length !== 1 || typeof value !== "string" || value === "" || !strategy) {
    const flags = reloadStrategies.map((s) => `--${s.name} ${s.valueHint}`);
    throw new MhcError(
      `choose exactly one of ${flags.slice(0, -1).join(", ")} or ${flags.at(-1)}`,
      ExitCode.usage,
    );
  }
  return strategy.select(value);
}
