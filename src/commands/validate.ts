import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import process from "node:process";
import { defineCommand } from "citty";
import { ExitCode, errorMessage, MhcError } from "../errors.ts";
import { checkConfig } from "../haproxy/binary.ts";
import { haproxyArgs } from "./_shared.ts";

/** HAProxy's "version is…" and "path to executable…" notices say nothing about the config. */
const haproxyPreamble = /^\[NOTICE\].*: (haproxy version is|path to executable is) /;

export default defineCommand({
  meta: { name: "validate", description: "Check a config with HAProxy itself (haproxy -c -f FILE)" },
  args: {
    file: { type: "positional", required: true, description: "The config file to check", valueHint: "FILE" },
    ...haproxyArgs,
  },
  async run({ args }) {
    // A file HAProxy cannot open is a read problem (exit 8), not an invalid config (6).
    await access(args.file, constants.R_OK).catch((error: unknown) => {
      throw new MhcError(`cannot read ${args.file}: ${errorMessage(error)}`, ExitCode.io, { cause: error });
    });
    // HAProxy would read every *.cfg of a folder as one config; mhc checks the file it deploys.
    if ((await stat(args.file)).isDirectory())
      throw new MhcError(`cannot read ${args.file}: it is a folder, not a config file`, ExitCode.io);
    const result = await checkConfig(args.file, args.haproxy);
    if (!result.valid) {
      // HAProxy's own lines, once each; the error line below only says what they add up to.
      const said = result.output.split("\n").filter((line) => line.trim() && !haproxyPreamble.test(line));
      if (said.length > 0) process.stderr.write(`${said.join("\n")}\n`);
      const why = said.length > 0 ? "HAProxy's reasons above" : "haproxy -c gave no reason";
      throw new MhcError(`${args.file} is not a valid HAProxy config (${why})`, ExitCode.invalidConfig);
    }
    process.stdout.write(`${args.file}: valid\n`);
  },
});
