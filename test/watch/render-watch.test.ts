import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { webWithHosts as web } from "../helpers/apps.ts";
import { harnessReadsExitStatusAfterKill, type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { tempDir } from "../helpers/git.ts";
import { eventually, sleep } from "../helpers/wait.ts";

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

/**
 * An --exec command line that appends its last argument to `log`, as a reload hook would run. The
 * `sh` here is the hook's own program: mhc itself passes 'literal $HOME; no shell' through untouched.
 */
function recorder(log: string): string {
  return `sh -c 'printf "%s\\n" "$1" >> "$0"' '${log}' 'literal $HOME; no shell'`;
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : []);

describe("mhc render -o FILE --watch", () => {
  it("rewrites the file on change and runs --exec (argv, no shell) only when it changed", async () => {
    const m = await marathon(web(1));
    const dir = tempDir("mhc-render-watch-");
    const out = join(dir, "haproxy.cfg");
    const log = join(dir, "exec log.txt"); // a space, quoted in --exec
    const status = join(dir, "status.json");
    const p = startMhc(
      [
        "render",
        "--watch",
        m.url,
        "-o",
        out,
        "--exec",
        recorder(log),
        "--wait",
        "200ms:1s",
        "--status-file",
        status,
      ],
      { timeoutMs: 60_000 },
    );
    running.push(p);
    await eventually(
      () => lines(log).length === 1 && m.openStreams() === 1,
      `the first write\n${p.stderr()}`,
    );
    expect(lines(log)).toEqual(["literal $HOME; no shell"]);
    const rendered = async (apps: unknown) => {
      const file = join(dir, "apps.json");
      writeFileSync(file, JSON.stringify(apps));
      return (await runMhc(["render", "--from", file])).stdout;
    };
    expect(readFileSync(out, "utf8")).toBe(await rendered(web(1)));

    m.apps = web(3);
    m.send("status_update_event", { appId: "/web" });
    await eventually(() => lines(log).length === 2, `the change\n${p.stderr()}`);
    expect(readFileSync(out, "utf8")).toBe(await rendered(web(3)));

    m.send("status_update_event", { appId: "/web" }); // nothing changed: no write, no --exec
    await eventually(() => /unchanged \(1 services\)/.test(p.stderr()), `the no-op sync\n${p.stderr()}`);
    await eventually(
      () => JSON.parse(readFileSync(status, "utf8")).syncs === 3,
      "the status of the no-op sync",
    );
    await sleep(300); // room for a wrong extra --exec to show up
    expect(lines(log)).toHaveLength(2);
    expect(JSON.parse(readFileSync(status, "utf8"))).toMatchObject({
      command: "render",
      target: out,
      syncs: 3,
    });
    const stopped = await p.stop();
    if (harnessReadsExitStatusAfterKill) expect(stopped.code).toBe(0);
  });

  it("a failing --exec is logged, retried at the next sync, and does not stop the watcher", async () => {
    const m = await marathon(web(1));
    const dir = tempDir("mhc-render-watch-");
    const out = join(dir, "haproxy.cfg");
    const flag = join(dir, "reload-works");
    // Fails until the flag file exists, like a reload while HAProxy is down.
    const p = startMhc(
      [
        "render",
        "--watch",
        m.url,
        "-o",
        out,
        "--exec",
        `sh -c '[ -e "$0" ] || exit 3' ${flag}`,
        "--wait",
        "100ms:1s",
      ],
      { timeoutMs: 60_000 },
    );
    running.push(p);
    await eventually(() => p.stderr().includes("exited with status 3"), `the failed --exec\n${p.stderr()}`);
    writeFileSync(flag, "");
    m.send("status_update_event", { appId: "/web" }); // the file is unchanged, but the reload is still owed
    await eventually(
      () => /unchanged \(1 services\); ran /.test(p.stderr()),
      `the retried --exec\n${p.stderr()}`,
    );
  });

  it("refuses --watch without -o, and --exec without -o", async () => {
    const watchless = await runMhc(["render", "--watch", "127.0.0.1:1"]);
    expect(watchless.code).toBe(2);
    expect(watchless.stderr).toContain("--watch needs -o FILE");
    const execless = await runMhc(["render", "127.0.0.1:1", "--exec", "true"]);
    expect(execless.code).toBe(2);
    expect(execless.stderr).toContain("--exec runs after -o FILE changes");
    const unclosed = await runMhc(["render", "127.0.0.1:1", "-o", "/tmp/x.cfg", "--exec", "reload 'now"]);
    expect(unclosed.code).toBe(2);
    expect(unclosed.stderr).toContain("unclosed ' quote");
  });
});

async function marathon(apps: unknown): Promise<EventMarathon> {
  const m = await startEventMarathon(apps);
  marathons.push(m);
  return m;
}
