/**
 * ssh_config settings that change how OpenSSH reaches a host and that hive's SSH does not act on:
 * each one a host's config sets is named in one warning, never dropped in silence. `unset` says
 * which values mean "not set" (ssh -G prints every setting, defaults included).
 */
const UNHONOURED: { keyword: string; why: string; unset?: RegExp; openssh?: true }[] = [
  { keyword: "certificatefile", why: "user certificates need OpenSSH", openssh: true },
  {
    keyword: "identityagent",
    why: "hive asks the agent at SSH_AUTH_SOCK",
    unset: /^(SSH_AUTH_SOCK|\$SSH_AUTH_SOCK)$/,
    openssh: true,
  },
  { keyword: "pkcs11provider", why: "hardware tokens need OpenSSH", openssh: true },
  { keyword: "securitykeyprovider", why: "FIDO keys need OpenSSH", unset: /^internal$/, openssh: true },
  { keyword: "addkeystoagent", why: "hive adds no keys to the agent", unset: /^(no|false)$/ },
  { keyword: "canonicalizehostname", why: "hive does not canonicalise host names", unset: /^(no|false)$/ },
  { keyword: "localcommand", why: "hive runs no local command" },
  { keyword: "remotecommand", why: "hive runs its own commands" },
];

/**
 * The settings of a resolved host hive's ssh2 does not act on, each with why; `openssh`: one that
 * only OpenSSH can honour (then `--ssh auto` reaches the host through OpenSSH).
 */
export function unhonouredSettings(
  settings: readonly Record<string, string | string[] | undefined>[],
): { text: string; openssh: boolean }[] {
  const found: { text: string; openssh: boolean }[] = [];
  for (const { keyword, why, unset, openssh } of UNHONOURED) {
    for (const record of settings) {
      const entry = Object.entries(record).find(([k]) => k.toLowerCase() === keyword);
      const value = entry?.[1];
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(" ") : value;
      if (unset?.test(text) !== true)
        found.push({ text: `${entry?.[0] ?? keyword} ${text} (${why})`, openssh: openssh === true });
      break;
    }
  }
  return found;
}
