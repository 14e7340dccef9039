import process from "node:process";
import { defineCommand } from "citty";
import { parseDuration, parsePositiveDuration } from "../args/duration.ts";
import { gitTimeoutMs } from "../args/values.ts";
import { type DeployOptions, deploy } from "../deploy/deploy.ts";
import { deployStatus, formatStatus } from "../deploy/status.ts";
import { watchDeploy } from "../deploy/watch.ts";
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
    runtime: {
      type: "boolean",
      default: true,
      description:
        "Apply server-only changes over HAProxy's Runtime API without a reload (--no-runtime: always reload)",
    },
    "runtime-socket": {
      type: "string",
      valueHint: "SOCKET",
      description:
        "Master CLI or admin stats socket for runtime changes (default: --master-socket, else the config's `stats socket … level admin`)",
    },
    "drain-timeout": {
      type: "string",
      valueHint: "DURATION",
      description: "How long a removed server may finish its sessions before they are cut",
      default: "30s",
    },
    watch: {
      type: "boolean",
      description:
        "Keep running: ask the remote every --interval (git ls-remote) and deploy each new commit at once",
    },
    interval: {
      type: "string",
      valueHint: "DURATION",
      description: "With --watch: how often to ask the remote (jittered ±20%)",
      default: "2s",
    },
    "metrics-file": {
      type: "string",
      valueHint: "PATH",
      description:
        "Write Prometheus metrics here after every run (atomically, for node_exporter's textfile collector)",
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
    const options: DeployOptions = {
      repo: args.repo,
      ref: args.ref,
      path: args.path,
      config: args.config,
      reloader: chosenReloader(args),
      haproxy: args.haproxy,
      workdir: args.workdir,
      retryFailed: args["retry-failed"] === true,
      metricsFile: args["metrics-file"] || undefined,
      gitTimeoutMs: gitTimeoutMs(args["git-timeout"]),
      runtime:
        args.runtime === false
          ? undefined
          : {
              socket: args["runtime-socket"] || undefined,
              drainTimeoutMs: parseDuration(args["drain-timeout"], "drain-timeout"),
            },
    };
    if (args.watch) {
      await watchDeploy(options, { intervalMs: parsePositiveDuration(args.interval, "interval") });
      return;
    }
    await deploy(options);
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
