import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { webWithHosts as web } from "../helpers/apps.ts";
import { type RunningMhc, runMhc, startMhc } from "../helpers/cli.ts";
import { type EventMarathon, startEventMarathon } from "../helpers/events.ts";
import { tempDir } from "../helpers/git.ts";
import { eventually } from "../helpers/wait.ts";

const running: RunningMhc[] = [];
const marathons: EventMarathon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(5_000)));
  await Promise.all(marathons.splice(0).map((m) => m.close()));
});

describe("--status-file", () => {
  it("a path that cannot be written, or is not a regular file (a fifo, a folder, a symlink to nothing), is exit 8 at start", async () => {
    const m = await startEventMarathon(web(1));
    marathons.push(m);
    const dir = tempDir("mhc-status-");
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const dangling = join(dir, "dangling.json");
    symlinkSync(join(dir, "nowhere.json"), dangling);
    for (const status of [join(dir, "missing", "status.json"), fifo, dir, dangling]) {
      const args = ["render", "--watch", m.url, "-o", join(dir, "haproxy.cfg"), "--status-file", status];
      const result = await runMhc(args, { timeoutMs: 20_000 });
      expect(result.code, `${status}: ${result.stderr}`).toBe(8);
      expect(result.stderr).toContain(status);
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(m.openStreams()).toBe(0);
  });

  it("a symlink is written through to its target and stays a link", async () => {
    const m = await startEventMarathon(web(1));
    marathons.push(m);
    const dir = tempDir("mhc-status-");
    mkdirSync(join(dir, "real"));
    const target = join(dir, "real", "status.json");
    const link = join(dir, "status.json");
    writeFileSync(target, "{}\n");
    symlinkSync(target, link);
    const p = startMhc(
      [
        "render",
        "--watch",
        m.url,
        "-o",
        join(dir, "haproxy.cfg"),
        "--wait",
        "100ms:1s",
        "--status-file",
        link,
      ],
      { timeoutMs: 60_000 },
    );
    running.push(p);
    await eventually(() => {
      try {
        return JSON.parse(readFileSync(target, "utf8")).syncs >= 1;
      } catch {
        return false;
      }
    }, "a status after the first sync");
    await p.stop(10_000);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(target, "utf8"))).toMatchObject({ command: "render", watching: false });
  });
});

describe("--status-file and credentials", () => {
  it("never holds Marathon's or the repo's password", async () => {
    const m = await startEventMarathon(web(1));
    marathons.push(m);
    m.authorization = `Basic ${btoa("watcher:s3cret-pw")}`;
    const dir = tempDir("mhc-status-");
    const status = join(dir, "status.json");
    const url = m.url.replace("http://", "http://watcher:s3cret-pw@");
    const p = startMhc(
      [
        "render",
        "--watch",
        url,
        "-o",
        join(dir, "haproxy.cfg"),
        "--wait",
        "100ms:1s",
        "--status-file",
        status,
      ],
      {
        timeoutMs: 60_000,
      },
    );
    running.push(p);
    await eventually(() => {
      try {
        return JSON.parse(readFileSync(status, "utf8")).streamConnected === true;
      } catch {
        return false;
      }
    }, "the stream to connect");
    const { stderr } = await p.stop(10_000);
    const text = readFileSync(status, "utf8");
    expect(JSON.parse(text).streamSource).toBe(m.url);
    for (const output of [text, stderr]) {
      expect(output).not.toContain("s3cret-pw");
      expect(output).not.toContain(btoa("watcher:s3cret-pw"));
    }
  });
});
