import process from "node:process";
import { defineCommand } from "citty";
import { configSection, unifiedDiff } from "../core/diff.ts";
import { hidePatchPasswords, render } from "../core/render.ts";
import { ExitCode } from "../errors.ts";
import { readTextFile } from "../io/files.ts";
import { loadSnapshot } from "../marathon/connection.ts";
import { checkSnapshotSource, normaliseWithWarnings, renderOptionsFrom } from "./_render.ts";
import { marathonArgs, renderArgs } from "./_shared.ts";

export default defineCommand({
  meta: {
    name: "diff",
    description:
      "Unified diff from FILE to a fresh render, hunks named by section; exit 0 same, 1 different, 2+ error",
  },
  args: {
    file: {
      type: "positional",
      description: "The current config (e.g. /etc/haproxy/haproxy.cfg)",
      required: true,
    },
    ...marathonArgs,
    ...renderArgs,
  },
  async run({ args, rawArgs }) {
    checkSnapshotSource(args.from, args._.slice(1), rawArgs);
    const current = await readTextFile(args.file, "config");
    const options = await renderOptionsFrom(args, rawArgs);
    const { snapshot, source } = await loadSnapshot(args, args._.slice(1), rawArgs);
    const fresh = render(normaliseWithWarnings(snapshot, options), options);
    // Side names follow a tab, where diff(1) puts timestamps, so patch and git apply still read the file name.
    const origin = args.from !== undefined ? `snapshot ${source}` : `Marathon at ${source}`;
    const patch = unifiedDiff(
      current,
      fresh,
      `a/${args.file}\t(published)`,
      `b/${args.file}\t(${origin})`,
      3,
      configSection,
    );
    process.stdout.write(hidePatchPasswords(patch));
    process.exitCode = patch === "" ? ExitCode.ok : ExitCode.changed;
  },
});
