import { ExitCode, MhcError } from "../errors.ts";

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Longest duration any watch flag accepts: setTimeout overflows past 2^31 ms (~24.8 days). */
const maxMs = 24 * 3_600_000;

/**
 * A duration such as `200ms`, `2s`, `1.5s`, `5m` or `1h`. A bare number means seconds, like
 * `--timeout`. Returns milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  const ms = match ? Number(match[1]) * (unitMs[match[2] ?? "s"] as number) : Number.NaN;
  if (!Number.isFinite(ms) || ms > maxMs) {
    throw new MhcError(
      `--${flag} must be a duration such as 500ms, 2s, 5m or 1h (at most 24h), not "${text}"`,
      ExitCode.usage,
    );
  }
  return Math.round(ms);
}

/** A duration that must be more than zero. */
export function parsePositiveDuration(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms <= 0) throw new MhcError(`--${flag} must be more than zero, not "${text}"`, ExitCode.usage);
  return ms;
}

export interface Wait {
  /** Quiet period: sync once no change signal arrived for this long. */
  minMs: number;
  /** Cap: sync at the latest this long after the first pending signal. */
  maxMs: number;
}

/** `--wait MIN:MAX` as consul-template reads it; a lone MIN means MAX = 4 × MIN. */
export function parseWait(text: string): Wait {
  const [minText = "", maxText, extra] = text.split(":");
  if (extra !== undefined)
    throw new MhcError(`--wait must be MIN or MIN:MAX (e.g. 2s:10s), not "${text}"`, ExitCode.usage);
  const minMs = parseDuration(minText, "wait");
  const maxMs = maxText === undefined ? minMs * 4 : parseDuration(maxText, "wait");
  if (maxMs <= 0 || maxMs < minMs) {
    throw new MhcError(`--wait MAX must be more than zero and at least MIN, not "${text}"`, ExitCode.usage);
  }
  return { minMs, maxMs };
}

/** For log lines: 1500 → "1.5 s", 250 → "250 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Number((ms / 1_000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}
