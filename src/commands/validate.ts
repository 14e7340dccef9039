import process from "node:process";
import { defineCommand } from "citty";
import { ExitCode, MhcError } from "../errors.ts";
import { checkConfig, firstAlert } from "../haproxy/binary.ts";

export default defineCommand({
  meta: { name: "validate", description: "Check a config with HAProxy itself (haproxy -c -f FILE)" },
  args: {
    file: { type: "positional", description: "The config file to check", required: true },
    haproxy: { type: "string", description: "HAProxy binary", default: "haproxy", valueHint: "bin" },
  },
  async run({ args }) {
    const result = await checkConfig(args.file, args.haproxy);
    if (!result.valid) {
      process.stderr.write(`${result.output}\n`);
      throw new MhcError(
        `${args.file} is not a valid HAProxy config: ${firstAlert(result.output)}`,
        ExitCode.invalidConfig,
      );
    }
    process.stdout.write(`${args.file}: valid\n`);
  },
});
