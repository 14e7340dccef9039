import { createHash } from "node:crypto";
import { readIfExists, writeFileAtomic } from "../io/files.ts";

/** What `mhc deploy` leaves beside the config (`<config>.mhc-deploy.json`). */
export interface DeployRecord {
  commit: string;
  ref: string;
  path: string;
  /** The repository, credentials removed. */
  repo: string;
  /** sha256 of the installed config, to notice hand edits. */
  sha256: string;
  deployedAt: string;
  reload: string;
  /** The commit that was installed before this one (now in the backup), if mhc installed it. */
  previousCommit: string | null;
}

const recordPath = (config: string) => `${config}.mhc-deploy.json`;
export const backupPath = (config: string) => `${config}.bak`;
export const lockPath = (config: string) => `${config}.mhc-deploy.lock`;

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export async function readRecord(config: string): Promise<DeployRecord | undefined> {
  const text = await readIfExists(recordPath(config));
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as DeployRecord;
    return typeof record.commit === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRecord(config: string, record: DeployRecord): Promise<void> {
  await writeFileAtomic(recordPath(config), `${JSON.stringify(record, null, 2)}\n`);
}

export interface DeployStatus {
  config: string;
  installed: boolean;
  /** sha256 of the config as it is on disk now. */
  sha256: string | null;
  /** True when the installed file is byte for byte what mhc deployed. */
  matchesRecord: boolean;
  backup: string | null;
  record: DeployRecord | null;
}

export async function deployStatus(config: string): Promise<DeployStatus> {
  const content = await readIfExists(config);
  const record = (await readRecord(config)) ?? null;
  const hash = content === undefined ? null : sha256(content);
  const backup = (await readIfExists(backupPath(config))) === undefined ? null : backupPath(config);
  return {
    config,
    installed: content !== undefined,
    sha256: hash,
    matchesRecord: record !== null && hash === record.sha256,
    backup,
    record,
  };
}

export function formatStatus(status: DeployStatus): string {
  const { record } = status;
  if (!status.installed) return `${status.config}: not installed\n`;
  if (!record)
    return `${status.config}: installed, but not by mhc deploy (no ${recordPath(status.config)})\n`;
  const lines = [
    `config:    ${status.config}`,
    `commit:    ${record.commit}`,
    `source:    ${record.repo} (ref ${record.ref}, path ${record.path})`,
    `deployed:  ${record.deployedAt} (reload: ${record.reload})`,
    `state:     ${status.matchesRecord ? "matches the deployed commit" : "MODIFIED since the deploy (sha256 differs)"}`,
    `previous:  ${record.previousCommit ?? "none recorded"}${status.backup ? ` (backup ${status.backup})` : ""}`,
  ];
  return `${lines.join("\n")}\n`;
}
