import process from "node:process";
import { defineCommand } from "citty";
import { deploy } from "../deploy/deploy.ts";
import { deployStatus, formatStatus } from "../deploy/record.ts";
import type { ReloadMode } from "../deploy/reload.ts";
import { ExitCode, MhcError } from "../errors.ts";
import { splitCommandLine } from "../io/command.ts";
import { haproxyArgs } from "./_shared.ts";

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
    "pid-file": {
      type: "string",
      valueHint: "FILE",
      description: "Reload with haproxy -D -p FILE -sf <old pids> [-x socket]",
    },
    "reload-cmd": {
      type: "string",
      valueHint: "CMD",
      description: "Reload by running CMD (split into words, no shell)",
    },
    "master-socket": {
      type: "string",
      description: "Reload through HAProxy's master CLI (master-worker mode)",
    },
    ...haproxyArgs,
    workdir: {
      type: "string",
      description: "Cache of the fetched repository (default ~/.cache/mhc/deploy/<hash>)",
    },
    status: { type: "boolean", description: "Print what is installed and from which commit; change nothing" },
    json: { type: "boolean", description: "With --status: print JSON" },
  },
  async run({ args }) {
    if (!args.config)
      throw new MhcError("--config FILE is required (the installed HAProxy config)", ExitCode.usage);
    if (args.status) {
      const status = await deployStatus(args.config);
      process.stdout.write(args.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return;
    }
    if (!args.repo) throw new MhcError("--repo URL|PATH is required", ExitCode.usage);
    await deploy({
      repo: args.repo,
      ref: args.ref,
      path: args.path,
      config: args.config,
      mode: reloadMode(args["pid-file"], args["reload-cmd"], args["master-socket"]),
      haproxy: args.haproxy,
      workdir: args.workdir,
    });
  },
});

function reloadMode(pidFile?: string, reloadCmd?: string, masterSocket?: string): ReloadMode {
  const given = [pidFile, reloadCmd, masterSocket].filter((v) => v !== undefined);
  if (given.length !== 1 || given[0] === "") {
    throw new MhcError(
      "choose exactly one of --pid-file F, --reload-cmd CMD or --master-socket S",
      ExitCode.usage,
    );
  }
  if (pidFile !== undefined) return { kind: "pid-file", pidFile };
  if (reloadCmd !== undefined)
    return { kind: "reload-cmd", argv: splitCommandLine(reloadCmd, "--reload-cmd") };
  return { kind: "master-socket", socket: masterSocket as string };
}
