import { IncrementalModel, type MarathonEvent, servicesDiffering } from "../core/incremental.ts";
import type { Model, RenderOptions } from "../core/model.ts";
import { normalise } from "../core/normalise.ts";
import { render } from "../core/render.ts";
import type { MarathonApp } from "../core/snapshot.ts";
import { log } from "../log.ts";
import type { LoadedSnapshot } from "../marathon/connection.ts";
import type { StatusFile } from "./status.ts";
import type { SyncTrigger } from "./watcher.ts";

/** Marathon's current state, ready to render and publish, and what it was read from. */
export interface Rendered {
  /** The model, given who owns each bind in the published config (the incumbent rule). */
  modelFor(incumbents: ReadonlyMap<string, string>): Model;
  /** The config of a model `modelFor` gave. */
  renderConfig(model: Model): string;
  appsInSnapshot: number;
  /** Where the apps came from (a Marathon URL). */
  source: string;
  /** The Marathon JSON, when this sync read it in full (a commit names its digest). */
  body?: string;
  /** This sync read every app (start, reconnect, resync, or an event mhc could not apply). */
  fullRead: boolean;
  /** The full read found the model kept from events different from Marathon. */
  diverged: boolean;
}

export interface RenderSourceOptions {
  options: RenderOptions;
  /** Apply events to a model kept in memory (else every sync reads and renders everything). */
  incremental: boolean;
  loadAll(): Promise<LoadedSnapshot>;
  /** One app and its tasks, undefined when Marathon no longer has it. */
  loadApp(id: string): Promise<MarathonApp | undefined>;
  status: StatusFile;
}

/** Past this many apps to read one by one (a big deployment), one full read is cheaper. */
const appReadsAtMost = (apps: number) => Math.max(50, apps / 20);

/** How many differing services a divergence report names before "and N more". */
const namedServices = 10;

/**
 * Where watch mode's configs come from. Incremental: a full read at start, then each sync applies
 * the events since the last one to the model in memory, reading single apps where an event cannot
 * be applied exactly. Each full read (resync, reconnect) is also a check: the model, brought up to
 * date with the events, is compared with what Marathon answered; a difference is logged with the
 * services it touched, counted in the status file, and corrected by publishing the full read.
 */
export class RenderSource {
  private model: IncrementalModel | undefined;
  /** The model cannot be trusted (a sync failed half way): the next sync reads everything. */
  private stale = true;
  private source = "";
  private readonly warned = new Set<string>();

  constructor(private readonly settings: RenderSourceOptions) {}

  async next(trigger: SyncTrigger): Promise<Rendered> {
    try {
      if (!this.settings.incremental || trigger.full || this.stale || !this.model)
        return await this.readAll(trigger.full ? trigger.events : undefined);
      const model = this.model;
      const outcome = model.apply(trigger.events);
      const why =
        outcome.fetchAll ??
        (outcome.fetchApps.size > appReadsAtMost(model.size)
          ? `${outcome.fetchApps.size} apps to read one by one`
          : undefined);
      if (why !== undefined) {
        log.info(`reading every app: ${why}`);
        return await this.readAll();
      }
      for (const [id, why] of outcome.fetchApps) {
        log.debug(`reading app ${id}: ${why}`);
        model.setApp(id, await this.settings.loadApp(id));
      }
      return this.rendered(model, model.size);
    } catch (error) {
      this.stale = true;
      throw error;
    }
  }

  private async readAll(eventsToCheck?: MarathonEvent[]): Promise<Rendered> {
    const loaded = await this.settings.loadAll();
    this.source = loaded.source;
    const status = this.settings.status;
    status.note({ fullReads: status.current.fullReads + 1 });
    const { options } = this.settings;
    const fresh = this.settings.incremental ? IncrementalModel.from(loaded.snapshot, options) : undefined;
    if (!fresh) {
      // --no-incremental, or apps that cannot be keyed by id: every sync reads everything.
      this.model = undefined;
      return {
        modelFor: (incumbents) => this.reportWarnings(normalise(loaded.snapshot, { ...options, incumbents })),
        renderConfig: (model) => render(model, options),
        appsInSnapshot: loaded.snapshot.apps.length,
        source: loaded.source,
        body: loaded.body,
        fullRead: true,
        diverged: false,
      };
    }
    const diverged =
      this.model !== undefined && !this.stale && eventsToCheck !== undefined
        ? this.check(this.model, eventsToCheck, fresh)
        : false;
    this.model = fresh;
    this.stale = false;
    return {
      ...this.rendered(fresh, loaded.snapshot.apps.length),
      body: loaded.body,
      fullRead: true,
      diverged,
    };
  }

  private rendered(incremental: IncrementalModel, appsInSnapshot: number): Rendered {
    return {
      modelFor: (incumbents) => this.reportWarnings(incremental.model(incumbents)),
      renderConfig: (model) => incremental.render(model),
      appsInSnapshot,
      source: this.source,
      fullRead: false,
      diverged: false,
    };
  }

  /**
   * Trust, but verify: brings the kept model up to date with the events since the last sync and
   * compares it with the full read. Apps an event says to read again are left out of the
   * comparison (their change is known, not missed). True when they differed.
   */
  private check(kept: IncrementalModel, events: MarathonEvent[], fresh: IncrementalModel): boolean {
    const outcome = kept.apply(events);
    if (outcome.fetchAll !== undefined) return false;
    const keptModel = kept.model();
    const freshModel = fresh.model();
    if (kept.render(keptModel) === fresh.render(freshModel)) return false;
    const pending = new Set(outcome.fetchApps.keys());
    const differing = servicesDiffering(
      kept.serviceTextsOf(keptModel, pending),
      fresh.serviceTextsOf(freshModel, pending),
    );
    if (differing.length === 0 && pending.size > 0) return false;
    const named =
      differing.length === 0
        ? "the shared sections (HTTP frontend)"
        : `${differing.length} service${differing.length === 1 ? "" : "s"}: ${differing.slice(0, namedServices).join(", ")}${differing.length > namedServices ? ` and ${differing.length - namedServices} more` : ""}`;
    log.warn(
      `resync: the state kept from events differed from Marathon in ${named}; publishing the full read`,
    );
    const status = this.settings.status;
    status.note({
      divergences: status.current.divergences + 1,
      lastDivergenceAt: new Date().toISOString(),
      lastDivergence: differing.length === 0 ? ["(HTTP frontend)"] : differing.slice(0, 100),
    });
    return true;
  }

  /** Says each warning once, not again on every sync while it holds. */
  private reportWarnings(model: Model): Model {
    for (const warning of model.warnings) if (!this.warned.has(warning)) log.warn(warning);
    this.warned.clear();
    for (const warning of model.warnings) this.warned.add(warning);
    return model;
  }
}
