import type { Dropped, Model, Service } from "./model.ts";
import { type PublishedModel, serviceOf } from "./published.ts";

/**
 * The last line of defence: when `haproxy -c` rejects a render that passed mhc's own checks, the
 * services its errors point to are left out (or kept as published) so one app cannot block the
 * rest. Only errors in the head, the stats listener or anything not tied to a service are fatal.
 */

export interface Blame {
  /** Service (frontend/backend) name → HAProxy's complaint about it, in its own words. */
  services: Map<string, string>;
  /** The first complaint that no service can be blamed for: the whole config is broken. */
  fatal?: string;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Frontends that route to many services: a line there is blamed on the service it names. */
const sharedFrontends = new Set(["http_in", "https_in", "app_id_in"]);

/** HAProxy's closing lines, which repeat what the alerts before them said. */
const summaryAlert = /Error\(s\) found in configuration file|Fatal errors found in configuration/;

function sectionsByLine(config: string): { section: string; name: string; text: string }[] {
  let section = "";
  let name = "";
  return config.split("\n").map((text) => {
    if (text !== "" && !/^\s/.test(text) && !text.startsWith("#"))
      [section = "", name = ""] = text.split(/\s+/);
    return { section, name, text };
  });
}

/** What HAProxy said, without its prefix, and the checked file's path replaced (it is temporary). */
function complaint(line: string, file: string): string {
  return line
    .replace(/^.*?\[ALERT\]\s*(\(\d+\)\s*)?:\s*(config\s*:\s*)?/, "")
    .replace(/^(parsing\s*)?\[[^\]]*:\d+\]\s*:?\s*/i, "")
    .replaceAll(`${file}:`, "line ")
    .replace(/[\s.]+$/, "");
}

/**
 * Reads the output of `haproxy -c -f FILE`: which services its alerts point to (`[FILE:line]`, or
 * a proxy by name).
 */
export function blameServices(
  output: string,
  config: string,
  file: string,
  services: readonly Service[],
): Blame {
  const names = new Set(services.map((s) => s.name));
  const lines = sectionsByLine(config);
  const blame: Blame = { services: new Map() };
  const accuse = (name: string | undefined, said: string) => {
    if (name !== undefined && names.has(name)) {
      if (!blame.services.has(name)) blame.services.set(name, said);
    } else blame.fatal ??= said;
  };
  for (const line of output.split("\n")) {
    if (!line.includes("[ALERT]") || summaryAlert.test(line)) continue;
    const said = complaint(line, file);
    const at = /\[[^\]]*?:(\d+)\]/.exec(line);
    if (at) {
      const where = lines[Number(at[1]) - 1];
      if (where?.section === "frontend" && sharedFrontends.has(where.name)) {
        accuse(
          /^\s*(?:acl (?:host|path|app)_(\S+)|use_backend (\S+))/.exec(where.text)?.slice(1).find(Boolean),
          said,
        );
      } else if (where?.section === "frontend" || where?.section === "backend") accuse(where.name, said);
      else accuse(undefined, said);
      continue;
    }
    const proxy = /\b(?:proxy|backend|frontend|listen)\s+'([^']+)'/i.exec(line);
    accuse(proxy?.[1], said);
  }
  return blame;
}

/** One app port, whatever its service's name (which changes with its service port). */
export const appPort = (s: { appId: string; portIndex: number }) => `${s.appId}\u0000${s.portIndex}`;

/**
 * The model without the blamed services: each is replaced by the previously published version of
 * its app port where there is one (unless `keep` says not to: that version was blamed too), and
 * recorded as dropped.
 */
export function quarantine(
  model: Model,
  /** App port (`appPort`) → what HAProxy said. */
  blamed: ReadonlyMap<string, string>,
  published: PublishedModel,
  keep: (appPort: string) => boolean,
): { model: Model; quarantined: Dropped[] } {
  const previous = new Map(published.services.map((s) => [appPort(s), s]));
  const services: Service[] = [];
  const quarantined: Dropped[] = [];
  for (const service of model.services) {
    const said = blamed.get(appPort(service));
    if (said === undefined) {
      services.push(service);
      continue;
    }
    const old = keep(appPort(service)) ? previous.get(appPort(service)) : undefined;
    if (old) services.push(serviceOf(old));
    quarantined.push({
      appId: service.appId,
      portIndex: service.portIndex,
      reason: `quarantined, HAProxy rejected it: ${said}${old ? "; the published version is kept" : ""}`,
    });
  }
  const dropped = [...model.dropped, ...quarantined].sort(
    (a, b) =>
      compare(a.appId, b.appId) || (a.portIndex ?? -1) - (b.portIndex ?? -1) || compare(a.reason, b.reason),
  );
  return { model: { ...model, services, dropped }, quarantined };
}
