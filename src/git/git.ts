import process from "node:process";
import { type SimpleGit, simpleGit } from "simple-git";

/**
 * Environment a git child may see. simple-git 4 strips GIT_* variables unless allow-listed, and
 * `.env()` replaces the whole environment, so we pass an explicit, minimal set: what git needs to
 * find credentials the usual way (ssh agent, credential helpers, a deploy key command, proxies, CAs).
 */
const passThrough = [
  "PATH",
  "HOME",
  "USER",
  "TMPDIR",
  "XDG_CONFIG_HOME",
  "SSH_AUTH_SOCK",
  "SSH_AGENT_PID",
  "GIT_SSH",
  "GIT_SSH_COMMAND",
  "GIT_SSL_CAINFO",
  "GIT_SSL_CAPATH",
  "GIT_CONFIG_GLOBAL",
  "GIT_CONFIG_NOSYSTEM",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of passThrough) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  // Never prompt (a cron job has no terminal) and keep git's messages in English for parsing.
  return { ...env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", LANG: "C", ...extra };
}

/** A simple-git client rooted at `dir`, with the minimal environment and a timeout per git call. */
export function gitClient(
  dir: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 120_000,
): SimpleGit {
  const env = gitEnv(extraEnv);
  return simpleGit({
    baseDir: dir,
    timeout: { block: timeoutMs },
    allowEnvironment: Object.keys(env),
    // The operator's own deploy-key command and global config file are trusted; nothing else is.
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigPaths: true },
  }).env(env);
}
