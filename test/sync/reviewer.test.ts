import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultRenderOptions } from "../../src/core/model.ts";
import { normalise } from "../../src/core/normalise.ts";
import { snapshotFromJson } from "../../src/core/snapshot.ts";
import { hostApp, snapshotOf, task } from "../helpers/apps.ts";
import { runMhc } from "../helpers/cli.ts";
import { bareRepo, commits, git, message, tempDir } from "../helpers/git.ts";

/**
 * Reviewer scenarios (issue #10): each step is one sync into a real bare remote, and the test
 * asserts the exact subject and body a reviewer reads in `git log`.
 */

const env = { XDG_CACHE_HOME: tempDir("mhc-cache-") };

function snapshotFile(apps: Record<string, unknown>[]): string {
  const file = join(tempDir("mhc-snap-"), "apps.json");
  writeFileSync(file, JSON.stringify(snapshotOf(...apps)));
  return file;
}

const httpCheck = (path: string) => ({
  protocol: "HTTP",
  path,
  portIndex: 0,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  maxConsecutiveFailures: 3,
});

interface WebSpec {
  /** `host:port` of each task. */
  tasks: string[];
  check?: string;
  vhosts?: string;
  unhealthy?: string[];
}

const web = ({ tasks, check = "/health", vhosts, unhealthy = [] }: WebSpec) =>
  hostApp(
    "/shop/web",
    [10000],
    tasks.map((t) => {
      const [host, port] = t.split(":");
      return task({ id: `web.${t}`, host, ports: [Number(port)], alive: [!unhealthy.includes(t)] });
    }),
    { healthChecks: [httpCheck(check)], labels: vhosts ? { HAPROXY_0_VHOST: vhosts } : {} },
  );

const api = (labels: Record<string, string> = {}) =>
  hostApp("/team-b/api", [10001], [task({ id: "api.1", host: "10.0.1.1", ports: [32000] })], { labels });

/** /shop/web after its new version, with a health check on /ready and a vhost. */
const v2 = (tasks: string[], unhealthy: string[] = []) =>
  web({ tasks, check: "/ready", vhosts: "api33.example.com", unhealthy });

/** Why /team-b/api with `HAPROXY_0_MODE=udp` is dropped, in normalise's own words. */
const badModeReason = normalise(
  snapshotFromJson(snapshotOf(api({ HAPROXY_0_MODE: "udp" })), "test"),
  defaultRenderOptions,
).dropped[0]?.reason;

/** The message without the trailers every commit has (Marathon, version, digest). */
function reviewed(remote: string, ref = "main"): string {
  const text = message(remote, ref);
  expect(text).toMatch(/\nMarathon: \S+\nMhc-Version: \S+\nSnapshot-Digest: sha256:[0-9a-f]{64}\n/);
  return text
    .replace(/\nMarathon: \S+\nMhc-Version: \S+\nSnapshot-Digest: sha256:[0-9a-f]{64}/, "")
    .trimEnd();
}

async function sync(remote: string, apps: Record<string, unknown>[], ...extra: string[]) {
  const result = await runMhc(["sync", "--from", snapshotFile(apps), "--repo", remote, ...extra], { env });
  return result;
}

describe("commits a reviewer can trust", () => {
  it("scale up/down, new version, deleted vs dropped and restored, health check, vhost, gate overridden, a long-unhealthy task", async () => {
    expect(badModeReason).toContain("HAPROXY_0_MODE");
    const remote = bareRepo();
    const steps: { apps: Record<string, unknown>[]; args?: string[]; name: string; expected: string }[] = [
      {
        apps: [web({ tasks: ["10.0.0.1:31000", "10.0.0.2:31000"] }), api()],
        name: "first sync: two new apps",
        expected: `haproxy: +2 apps /shop/web /team-b/api

+ backend shop_web_10000 (app /shop/web, 2 servers)
    + 10.0.0.1:31000
    + 10.0.0.2:31000
+ backend team-b_api_10001 (app /team-b/api, 1 server)
    + 10.0.1.1:32000

Servers: 0 → 3 (+3 -0)`,
      },
      {
        apps: [web({ tasks: ["10.0.0.1:31000", "10.0.0.2:31000", "10.0.0.3:31000"] }), api()],
        name: "scale up",
        expected: `haproxy: /shop/web +1 server

backend shop_web_10000 (app /shop/web)
    + 10.0.0.3:31000

Servers: 3 → 4 (+1 -0)`,
      },
      {
        apps: [web({ tasks: ["10.0.0.1:31000", "10.0.0.2:31000"] }), api()],
        name: "scale down",
        expected: `haproxy: /shop/web -1 server

backend shop_web_10000 (app /shop/web)
    - 10.0.0.3:31000

Servers: 4 → 3 (+0 -1)`,
      },
      {
        apps: [
          web({ tasks: ["10.0.0.1:31000", "10.0.0.2:31000", "10.0.0.1:31500", "10.0.0.2:31500"] }),
          api(),
        ],
        name: "deploy a new version: new tasks start",
        expected: `haproxy: /shop/web +2 servers

backend shop_web_10000 (app /shop/web)
    + 10.0.0.1:31500
    + 10.0.0.2:31500

Servers: 3 → 5 (+2 -0)`,
      },
      {
        apps: [web({ tasks: ["10.0.0.1:31500", "10.0.0.2:31500"] }), api()],
        name: "deploy a new version: old tasks go",
        expected: `haproxy: /shop/web -2 servers

backend shop_web_10000 (app /shop/web)
    - 10.0.0.1:31000
    - 10.0.0.2:31000

Servers: 5 → 3 (+0 -2)`,
      },
      {
        apps: [web({ tasks: ["10.0.0.1:31500", "10.0.0.2:31500"], check: "/ready" }), api()],
        name: "health check changed",
        expected: `haproxy: /shop/web health check changed

backend shop_web_10000 (app /shop/web)
    health check GET /health → GET /ready

Servers: 3 → 3 (+0 -0)`,
      },
      {
        apps: [v2(["10.0.0.1:31500", "10.0.0.2:31500"]), api()],
        name: "vhost added",
        expected: `haproxy: /shop/web vhost changed

backend shop_web_10000 (app /shop/web)
    vhost + api33.example.com

Servers: 3 → 3 (+0 -0)`,
      },
      {
        apps: [v2(["10.0.0.1:31500", "10.0.0.2:31500"]), api({ HAPROXY_0_MODE: "udp" })],
        name: "dropped for a bad label, not deleted",
        expected: `haproxy: dropped /team-b/api

- backend team-b_api_10001 (app /team-b/api, 1 server): dropped (see below)
    - 10.0.1.1:32000

dropped /team-b/api: ${badModeReason}

Servers: 3 → 2 (+0 -1)
Dropped: 1 app port`,
      },
      {
        apps: [v2(["10.0.0.1:31500", "10.0.0.2:31500"]), api()],
        name: "the label put right: restored",
        expected: `haproxy: restored /team-b/api

+ backend team-b_api_10001 (app /team-b/api, 1 server): restored
    + 10.0.1.1:32000

restored /team-b/api

Servers: 2 → 3 (+1 -0)`,
      },
      {
        apps: [v2(["10.0.0.1:31500", "10.0.0.2:31500"])],
        name: "app deleted in Marathon",
        expected: `haproxy: -1 app /team-b/api

- backend team-b_api_10001 (app /team-b/api, 1 server): deleted
    - 10.0.1.1:32000

Servers: 3 → 2 (+0 -1)`,
      },
      {
        apps: [v2(["10.0.0.1:31500", "10.0.0.2:31500", "10.0.0.3:31500"], ["10.0.0.3:31500"]), api()],
        name: "a task fails its health checks: its exclusion starts",
        expected: `haproxy: +1 app /team-b/api

+ backend team-b_api_10001 (app /team-b/api, 1 server)
    + 10.0.1.1:32000

Servers: 2 → 3 (+1 -0)
Tasks not in the config: 1 (+1 -0)
    + /shop/web web.10.0.0.3:31500: Marathon health checks failing`,
      },
      {
        apps: [
          v2(["10.0.0.1:31500", "10.0.0.2:31500", "10.0.0.3:31500", "10.0.0.4:31500"], ["10.0.0.3:31500"]),
          api(),
        ],
        name: "still unhealthy: only counted",
        expected: `haproxy: /shop/web +1 server

backend shop_web_10000 (app /shop/web)
    + 10.0.0.4:31500

Servers: 3 → 4 (+1 -0)
Tasks not in the config: 1`,
      },
      {
        apps: [v2(["10.0.0.3:31500", "10.0.0.5:31500"], ["10.0.0.3:31500"]), api()],
        args: ["--force"],
        name: "gate overridden with --force",
        expected: `haproxy: /shop/web +1 server -3 servers

Gate max-drop overridden with --force: 3 of 4 servers (75.0%) would disappear, more than --max-drop 50%

backend shop_web_10000 (app /shop/web)
    + 10.0.0.5:31500
    - 10.0.0.1:31500
    - 10.0.0.2:31500
    - 10.0.0.4:31500

Servers: 4 → 2 (+1 -3)
Tasks not in the config: 1

Gate-Overridden: max-drop (3 of 4 servers)`,
      },
      {
        apps: [v2(["10.0.0.3:31500", "10.0.0.5:31500"]), api()],
        name: "healthy again: its exclusion ends",
        expected: `haproxy: /shop/web +1 server

backend shop_web_10000 (app /shop/web)
    + 10.0.0.3:31500

Servers: 2 → 3 (+1 -0)
Tasks not in the config: 0 (+0 -1)
    - /shop/web web.10.0.0.3:31500: was Marathon health checks failing`,
      },
    ];
    for (const step of steps) {
      const result = await sync(remote, step.apps, ...(step.args ?? []));
      expect(result.code, `${step.name}: ${result.stderr}`).toBe(0);
      expect(reviewed(remote), step.name).toBe(step.expected);
    }
    expect(commits(remote)).toHaveLength(steps.length);
    for (const subject of git(remote, "log", "--format=%s").trim().split("\n"))
      expect(subject.length).toBeLessThanOrEqual(72);
  });
});
