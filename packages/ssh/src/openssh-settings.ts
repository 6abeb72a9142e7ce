import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";

/** Settings as `ssh -G` prints them: lower-case keywords, a list where a keyword repeats. */
export type Settings = Record<string, string | string[]>;

const MATCH = /^\s*match\b/im;
const INCLUDE = /^\s*include\s+(.+)$/gim;
const MENTIONS_STRICTNESS = /^\s*stricthostkeychecking\b/im;

/** A config file's text ("" when there is none). */
export function configText(path: string | undefined): string {
  return path !== undefined && existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** A file name glob (`*`, `?`) as a regular expression. */
function globPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\[\]]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

/** Whether a config file says anything (more than comments and blank lines). */
function saysAnything(file: string): boolean {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .some((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  } catch {
    return false;
  }
}

/**
 * Whether an `Include` line pulls in anything: a pattern that matches no file, or only files with
 * nothing in them (Debian's `Include /etc/ssh/ssh_config.d/*.conf` on a fresh system), changes
 * nothing. Relative paths are in `base` (~/.ssh for a user's config, /etc/ssh for the system's);
 * a wildcard anywhere but the last part of a path counts as pulling something in.
 */
function includesAnything(text: string, base: string, home: string): boolean {
  for (const m of text.matchAll(INCLUDE)) {
    for (const word of (m[1] ?? "").trim().split(/\s+/)) {
      const unquoted = word.replace(/^"|"$/g, "").replace(/^~(?=\/|$)/, home);
      const path = isAbsolute(unquoted) ? unquoted : join(base, unquoted);
      const dir = dirname(path);
      if (/[*?[]/.test(dir)) return true;
      const pattern = globPattern(basename(path));
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      if (names.some((n) => pattern.test(n) && saysAnything(join(dir, n)))) return true;
    }
  }
  return false;
}

/**
 * Whether these configs need OpenSSH's own resolution: `Match`, and an `Include` that pulls in
 * anything, are OpenSSH's to interpret; hive's parser handles `Host` blocks alone. `configs` are
 * the user's (relative includes in ~/.ssh) then the system's (in /etc/ssh).
 */
export function needsOpenSsh(configs: readonly { text: string; base: string }[], home: string): boolean {
  return configs.some(({ text, base }) => MATCH.test(text) || includesAnything(text, base, home));
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
