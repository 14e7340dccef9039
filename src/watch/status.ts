import { errorMessage } from "../errors.ts";
import { writeFileAtomic } from "../io/files.ts";
import { log, redact } from "../log.ts";

/**
 * What `--status-file` holds, so monitoring can alert when mhc goes stale (marathon-lb's worst
 * failure mode was stopping silently). Timestamps are ISO 8601 UTC; null means "not yet".
 */
export interface WatchStatus {
  command: "sync" | "render";
  /** Repo (without credentials) or output file. */
  target: string;
  pid: number;
  /** False once the watcher has stopped (signal). */
  watching: boolean;
  startedAt: string;
  streamConnected: boolean;
  /** The Marathon the event stream is (or was last) connected to. */
  streamSource: string | null;
  lastEventAt: string | null;
  lastAttemptAt: string | null;
  /** Last sync that ended with the target up to date (changed or not). Alert on its age. */
  lastSuccessAt: string | null;
  /** Last time the target changed (a commit pushed, a file written). */
  lastChangeAt: string | null;
  lastCommit: string | null;
  lastResult: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Failed attempts since the last success; 0 when healthy. */
  consecutiveFailures: number;
  syncs: number;
  failures: number;
  /** Whether syncs apply events to a model in memory (false with --no-incremental). */
  incremental: boolean;
  /** Full reads (start, reconnect, resync, or an event mhc could not apply). */
  fullReads: number;
  /** Full reads that found the model kept from events different from Marathon. */
  divergences: number;
  lastDivergenceAt: string | null;
  /** The services that differed at the last divergence (at most 100 names). */
  lastDivergence: string[] | null;
  updatedAt: string;
}

/** Keeps the status in memory and rewrites the file atomically, one write at a time. */
export class StatusFile {
  private status: WatchStatus;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string | undefined,
    initial: Pick<WatchStatus, "command" | "target"> & Partial<Pick<WatchStatus, "incremental">>,
  ) {
    const now = new Date().toISOString();
    this.status = {
      ...initial,
      target: redact(initial.target),
      pid: process.pid,
      watching: true,
      startedAt: now,
      streamConnected: false,
      streamSource: null,
      lastEventAt: null,
      lastAttemptAt: null,
      lastSuccessAt: null,
      lastChangeAt: null,
      lastCommit: null,
      lastResult: null,
      lastError: null,
      lastErrorAt: null,
      consecutiveFailures: 0,
      syncs: 0,
      failures: 0,
      incremental: initial.incremental ?? false,
      fullReads: 0,
      divergences: 0,
      lastDivergenceAt: null,
      lastDivergence: null,
      updatedAt: now,
    };
  }

  get current(): Readonly<WatchStatus> {
    return this.status;
  }

  /** Changes the status in memory only (e.g. per event: too frequent to write each time). */
  note(patch: Partial<WatchStatus>): void {
    Object.assign(this.status, patch);
  }

  /** Changes the status and writes it. Throws only when `strict` (the first write, at start). */
  update(patch: Partial<WatchStatus>, strict = false): Promise<void> {
    this.note({ ...patch, updatedAt: new Date().toISOString() });
    const path = this.path;
    if (!path) return Promise.resolve();
    const text = `${JSON.stringify(this.status, null, 2)}\n`;
    const write = this.writing.then(() => writeFileAtomic(path, text)).then(() => {});
    this.writing = write.catch((error: unknown) => {
      if (!strict) log.warn(`status file: ${errorMessage(error)}`);
    });
    return strict ? write : this.writing;
  }
}
