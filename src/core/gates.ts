import { type Changes, type ConfigSummary, compareConfigs, summariseConfig } from "./summary.ts";

/**
 * Safety gates: the failure every peer suffered is publishing an empty or gutted config while
 * Marathon is mid leader election or answers nonsense. A gate names itself and says why.
 */
export interface GateVerdict {
  gate: "no-apps" | "empty-backend" | "max-drop";
  reason: string;
}

export interface GateInput {
  published: ConfigSummary;
  candidate: ConfigSummary;
  changes: Changes;
  appsInSnapshot: number;
  maxDropPercent: number;
}

export function checkGates({
  published,
  candidate,
  changes,
  appsInSnapshot,
  maxDropPercent,
}: GateInput): GateVerdict | undefined {
  if (appsInSnapshot === 0 && published.size > 0) {
    return {
      gate: "no-apps",
      reason: `Marathon returned no apps while the published config has ${published.size} backends`,
    };
  }
  const emptied = [...published.values()].filter(
    (b) => b.servers.size > 0 && candidate.get(b.name)?.servers.size === 0,
  );
  if (emptied.length > 0) {
    const names = emptied.slice(0, 5).map((b) => `${b.name} (app ${b.appId}, ${b.servers.size} now)`);
    const more = emptied.length > 5 ? ` and ${emptied.length - 5} more` : "";
    return {
      gate: "empty-backend",
      reason: `would leave backends with no servers: ${names.join(", ")}${more}`,
    };
  }
  if (changes.serversBefore > 0) {
    const percent = (changes.serversRemoved / changes.serversBefore) * 100;
    if (percent > maxDropPercent) {
      return {
        gate: "max-drop",
        reason: `${changes.serversRemoved} of ${changes.serversBefore} servers (${percent.toFixed(1)}%) would disappear, more than --max-drop ${maxDropPercent}%`,
      };
    }
  }
  return undefined;
}

/** The gates for replacing one config text with another (render -o over an existing file). */
export function checkReplacement(
  published: string,
  candidate: string,
  appsInSnapshot: number,
  maxDropPercent: number,
): GateVerdict | undefined {
  const before = summariseConfig(published);
  const after = summariseConfig(candidate);
  const changes = compareConfigs(before, after);
  return checkGates({ published: before, candidate: after, changes, appsInSnapshot, maxDropPercent });
}
