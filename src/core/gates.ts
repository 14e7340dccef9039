import type { PublishedModel } from "./published.ts";
import { readConfigText } from "./published.ts";
import type { Changes } from "./summary.ts";
import { compareModels, serverAddress } from "./summary.ts";

/**
 * Safety gates: the failure every peer suffered is publishing an empty or gutted config while
 * Marathon is mid leader election or answers nonsense. A gate names itself and says why; `detail`
 * is the short form for the `Gate-Overridden:` trailer.
 */
export interface GateVerdict {
  gate: "no-apps" | "empty-backend" | "max-drop";
  reason: string;
  detail: string;
}

export interface GateInput {
  published: PublishedModel;
  /** The candidate as compared with `published`: the gates read it only through the changes. */
  changes: Changes;
  appsInSnapshot: number;
  maxDropPercent: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Every gate that refuses the change, in order of severity (empty when it may be published). */
export function checkGates({ published, changes, appsInSnapshot, maxDropPercent }: GateInput): GateVerdict[] {
  const verdicts: GateVerdict[] = [];
  const services = published.services.length;
  if (appsInSnapshot === 0 && services > 0) {
    verdicts.push({
      gate: "no-apps",
      reason: `Marathon returned no apps while the published config has ${plural(services, "backend")}`,
      detail: `0 apps, ${plural(services, "backend")} published`,
    });
  }
  // A backend left with no servers is one the changes list with none: only those are looked up.
  const emptiedNames = new Set(
    changes.backends.filter((c) => c.kind === "changed" && c.servers === 0).map((c) => c.name),
  );
  const emptied =
    emptiedNames.size === 0
      ? []
      : published.services.filter((b) => b.servers.length > 0 && emptiedNames.has(b.name));
  if (emptied.length > 0) {
    const names = emptied.slice(0, 5).map((b) => `${b.name} (app ${b.appId}, ${b.servers.length} now)`);
    const more = emptied.length > 5 ? ` and ${emptied.length - 5} more` : "";
    verdicts.push({
      gate: "empty-backend",
      reason: `would leave backends with no servers: ${names.join(", ")}${more}`,
      detail: plural(emptied.length, "backend"),
    });
  }
  // Draining servers (an old blue/green colour) already take no new connections: their going is
  // the end of a deployment, not a loss, so they count neither as servers nor as removed.
  // Addresses are collected only for the backends that lose servers.
  const losing = new Set(changes.backends.filter((c) => c.removed.length > 0).map((c) => c.name));
  const draining = new Set<string>();
  let drainingServers = 0;
  for (const b of published.services) {
    if (!b.servers.some((s) => s.draining)) continue;
    const addresses = new Set(b.servers.filter((s) => s.draining).map(serverAddress));
    drainingServers += addresses.size;
    if (losing.has(b.name)) for (const address of addresses) draining.add(`${b.name}\u0000${address}`);
  }
  const drainedAway = changes.backends.reduce(
    (n, c) => n + c.removed.filter((a) => draining.has(`${c.name}\u0000${a}`)).length,
    0,
  );
  const before = changes.serversBefore - drainingServers;
  const removed = changes.serversRemoved - drainedAway;
  if (before > 0) {
    const percent = (removed / before) * 100;
    if (percent > maxDropPercent) {
      verdicts.push({
        gate: "max-drop",
        reason: `${removed} of ${before} servers (${percent.toFixed(1)}%) would disappear, more than --max-drop ${maxDropPercent}%`,
        detail: `${removed} of ${before} servers`,
      });
    }
  }
  return verdicts;
}

/**
 * The gates for replacing one config file with another (render -o over an existing file): both
 * are read with the documented config reader, as no model file sits beside them.
 */
export function checkReplacement(
  current: string | PublishedModel,
  candidate: PublishedModel,
  appsInSnapshot: number,
  maxDropPercent: number,
): GateVerdict | undefined {
  // A watch passes the model it wrote itself while the file still holds that text.
  const published = typeof current === "string" ? readConfigText(current) : current;
  const changes = compareModels(published, candidate);
  return checkGates({ published, changes, appsInSnapshot, maxDropPercent })[0];
}
