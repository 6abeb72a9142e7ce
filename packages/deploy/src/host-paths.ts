/** Where NixOS keeps the system profile: what the host boots, and its generations. */
export const SYSTEM_PROFILE = "/nix/var/nix/profiles/system";
/** hive's own state on a host: history, deploy lock, activation logs. Root only. */
export const HIVE_STATE_DIR = "/nix/var/hive";
export const LOCK_FILE = `${HIVE_STATE_DIR}/deploy.lock`;
export const ACTIVATION_DIR = `${HIVE_STATE_DIR}/activations`;

/** The generation number in a system profile link's name (`system-7-link`). */
export function parseGeneration(link: string | undefined): number | undefined {
  const match = /^system-(\d+)-link$/.exec(link?.trim() ?? "");
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
