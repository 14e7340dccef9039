/**
 * Exit codes are part of the CLI contract (documented in the README). 1 is reserved for
 * "differences found" (`mhc diff`, like diff(1)), so every failure is 2 or more.
 */
export const ExitCode = {
  ok: 0,
  changed: 1,
  usage: 2,
  marathonUnreachable: 3,
  marathonAuth: 4,
  marathonData: 5,
  invalidConfig: 6,
  haproxyMissing: 7,
  io: 8,
  git: 9,
  gateRefused: 10,
  pushedForReview: 11,
  reloadFailed: 12,
  locked: 13,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The one error type mhc throws on purpose: a one-line, actionable message and an exit code. */
export class MhcError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MhcError";
    this.exitCode = exitCode;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
