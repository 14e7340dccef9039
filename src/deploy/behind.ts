import { gitClient } from "../git/git.ts";

/** How much history `--status` fetches to count the commits a host is behind. */
export const behindDepth = 200;

/**
 * How many commits `to` (the remote branch) has that `from` (the installed commit) lacks, counted in
 * the deploy cache after deepening `ref` to `behindDepth` commits. Undefined when `from` is not among
 * them (further behind, or not an ancestor: the branch was rewritten).
 */
export async function commitsBehind(
  workdir: string,
  repo: string,
  ref: string,
  from: string,
  to: string,
): Promise<number | undefined> {
  if (from === to) return 0;
  const git = gitClient(workdir);
  await git.raw([
    "fetch",
    `--depth=${behindDepth}`,
    "--no-tags",
    "--force",
    "--",
    repo,
    `+${ref}:refs/mhc/status`,
  ]);
  try {
    await git.raw(["merge-base", "--is-ancestor", from, to]);
  } catch {
    return undefined;
  }
  return Number((await git.raw(["rev-list", "--count", `${from}..${to}`])).trim());
}
