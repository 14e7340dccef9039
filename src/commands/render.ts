import process from "node:process";
import { defineCommand } from "citty";
import { render } from "../core/render.ts";
import { writeFileAtomic } from "../io/files.ts";
import { log } from "../log.ts";
import {
  loadSnapshot,
  marathonArgs,
  normaliseWithWarnings,
  renderArgs,
  renderOptionsFrom,
} from "./_shared.ts";

export default defineCommand({
  meta: { name: "render", description: "Render haproxy.cfg from Marathon (stdout, or -o FILE)" },
  args: {
    ...marathonArgs,
    ...renderArgs,
    output: {
      type: "string",
      alias: "o",
      description: "Write the config to FILE atomically (untouched when unchanged)",
      valueHint: "file",
    },
    json: {
      type: "boolean",
      description: "Print the normalised model (services, servers, excluded tasks) as JSON",
    },
  },
  async run({ args, rawArgs }) {
    const options = await renderOptionsFrom(args, rawArgs);
    const { snapshot } = await loadSnapshot(args, args._, rawArgs);
    const model = normaliseWithWarnings(snapshot, options);
    const config = render(model, options);
    if (args.output) {
      const outcome = await writeFileAtomic(args.output, config);
      log.info(
        `${args.output}: ${outcome === "written" ? "written" : "unchanged"} (${model.services.length} services)`,
      );
    }
    if (args.json) process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    else if (!args.output) process.stdout.write(config);
  },
});
