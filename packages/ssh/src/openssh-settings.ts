import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Settings as `ssh -G` prints them: lower-case keywords, a list where a keyword repeats. */
export type Settings = Record<string, string | string[]>;

const NEEDS_OPENSSH = /^\s*(include|match)\b/im;
const MENTIONS_STRICTNESS = /^\s*stricthostkeychecking\b/im;

/** A config file's text ("" when there is none). */
export function configText(path: string | undefined): string {
  return path !== undefined && existsSync(path) ? readFileSync(path, "utf8") : "";
}

/**
 * Whether these configs need OpenSSH's own resolution: `Include` and `Match` (and what they pull
 * in) are OpenSSH's to interpret; hive's parser handles `Host` blocks alone.
 */
export function needsOpenSsh(texts: readonly string[]): boolean {
  return texts.some((t) => NEEDS_OPENSSH.test(t));
}

/** Whether these configs set StrictHostKeyChecking anywhere (else hive's default, accept-new, holds). */
export function setsStrictness(texts: readonly string[]): boolean {
  return texts.some((t) => MENTIONS_STRICTNESS.test(t));
}

/**
 * How `ssh` is pointed at the user's config: nothing for its own default, ~/.ssh/config (then it
 * reads /etc/ssh/ssh_config too), `-F FILE` for another (SSH_CONFIG_FILE).
 */
export function configFileArgs(userConfig: string | undefined, home: string): string[] {
  return userConfig !== undefined && userConfig !== join(home, ".ssh", "config") ? ["-F", userConfig] : [];
}

/**
 * A host's settings resolved by `ssh -G` (Include, Match, Host negation, % tokens and
 * canonicalisation exactly as OpenSSH applies them), or undefined when there is no `ssh` to ask.
 * `args` are the command line's own flags (deployment.sshOptions, -p, -l, -F).
 */
export function openSshSettings(
  host: string,
  args: readonly string[],
  home: string,
  texts: readonly string[],
): Settings | undefined {
  let output: string;
  try {
    output = execFileSync("ssh", ["-G", ...args, "--", host], {
      encoding: "utf8",
      env: { ...process.env, HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    });
  } catch {
    return undefined;
  }
  const settings: Settings = {};
  for (const line of output.split("\n")) {
    const at = line.indexOf(" ");
    if (at <= 0) continue;
    const key = line.slice(0, at).toLowerCase();
    const value = line.slice(at + 1);
    // `none` is how ssh -G says a setting is not set (ProxyJump, HostKeyAlias, ConnectTimeout).
    if (value === "none") continue;
    const before = settings[key];
    settings[key] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  // `ask` is also what ssh -G prints when nothing sets it: then hive's default (accept-new) holds.
  if (settings["stricthostkeychecking"] === "ask" && !setsStrictness(texts)) delete settings["stricthostkeychecking"];
  return settings;
}
