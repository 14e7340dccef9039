#!/usr/bin/env node
import { defineCommand } from "citty";
import pkg from "../package.json" with { type: "json" };
import { completionCommand } from "./completion.ts";
import { globalArgs, main } from "./run.ts";
import type { AnyCommand } from "./usage.ts";

const root: AnyCommand = defineCommand({
  meta: { name: "mhc", version: pkg.version, description: pkg.description },
  subCommands: {
    render: () => import("./commands/render.ts").then((m) => m.default),
    diff: () => import("./commands/diff.ts").then((m) => m.default),
    validate: () => import("./commands/validate.ts").then((m) => m.default),
    sync: () => import("./commands/sync.ts").then((m) => m.default),
    deploy: () => import("./commands/deploy.ts").then((m) => m.default),
    completion: () => completionCommand(() => root, globalArgs),
  },
});

await main(root);
