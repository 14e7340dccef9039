import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests start real HAProxy processes on loopback ports; keep file-level parallelism modest.
    maxWorkers: 2,
    env: { NO_COLOR: "1" },
  },
});
