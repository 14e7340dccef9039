import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultHead } from "../../src/core/head.ts";
import { haproxyAvailable } from "../helpers/haproxy.ts";
import { freePort, waitForPort } from "../helpers/net.ts";

const dir = mkdtempSync(join(tmpdir(), "mhc-head-"));

/** The built-in head with a stats listener on `port` and its state file in this test's folder. */
function config(port: number, globalExtra = ""): string {
  const head = defaultHead
    .replace(/server-state-file \S+/, `server-state-file ${join(dir, "state")}`)
    .replace("global\n", `global\n${globalExtra}`);
  return `${head}\nlisten stats\n  bind 127.0.0.1:${port}\n  mode http\n  stats enable\n`;
}

/** Starts HAProxy in the foreground under `ulimit -n limit`; resolves once it listens or has exited. */
async function startUnderLimit(file: string, port: number, limit: number) {
  const child = spawn("sh", ["-c", `ulimit -n ${limit} && exec haproxy -db -f "$0"`, file], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const outcome = await Promise.race([waitForPort(port, "127.0.0.1", 5_000).then(() => "listening"), exited]);
  if (child.exitCode === null) {
    child.kill("SIGTERM");
    await exited;
  }
  return { outcome, stderr };
}

describe("the built-in head", () => {
  it("sets hard-stop-after 5m, mworker-max-reloads 5, init-addr last,libc,none and the server state file", () => {
    expect(defaultHead).toMatch(/^ {2}hard-stop-after 5m$/m);
    expect(defaultHead).toMatch(/^ {2}mworker-max-reloads 5$/m);
    expect(defaultHead).toMatch(/^ {2}default-server init-addr last,libc,none$/m);
    expect(defaultHead).toMatch(/^ {2}server-state-file \/var\/lib\/haproxy\/mhc-server-state$/m);
    expect(defaultHead).toMatch(/^ {2}load-server-state-from-file global$/m);
    expect(defaultHead).not.toMatch(/^\s*maxconn/m);
  });

  it.skipIf(!haproxyAvailable())(
    "has no fixed maxconn: HAProxy starts under ulimit -n 256, where maxconn 4096 would not; a missing state file is only a warning",
    async () => {
      const port = await freePort();
      const builtIn = join(dir, "built-in.cfg");
      writeFileSync(builtIn, config(port));
      expect(spawnSync("haproxy", ["-c", "-q", "-f", builtIn]).status).toBe(0);
      const started = await startUnderLimit(builtIn, port, 256);
      expect(started.outcome, started.stderr).toBe("listening");
      expect(started.stderr).toContain("Can't open global server state file");

      const fixed = join(dir, "fixed.cfg");
      writeFileSync(fixed, config(port, "  maxconn 4096\n"));
      const refused = await startUnderLimit(fixed, port, 256);
      expect(refused.outcome).not.toBe("listening");
      expect(refused.stderr).toContain("Cannot raise FD limit");
    },
  );
});
