#!/usr/bin/env node
import { defineCommand } from "citty";
import pkg from "../package.json" with { type: "json" };
import { main } from "./run.ts";

const root = defineCommand({
  meta: { name: "mhc", version: pkg.version, description: pkg.description },
  subCommands: {
    render: () => import("./commands/render.ts").then((m) => m.default),
    diff: () => import("./commands/diff.ts").then((m) => m.default),
    validate: () => import("./commands/validate.ts").then((m) => m.default),
    sync: () => import("./commands/sync.ts").then((m) => m.default),
    deploy: () => import("./commands/deploy.ts").then((m) => m.default),
  },
});

await main(root);
