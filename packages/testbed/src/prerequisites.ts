import { existsSync } from "node:fs";

const TOOLS: readonly [string, string][] = [
  ["/usr/sbin/sshd", "openssh-server"],
  ["/usr/bin/ssh-keygen", "openssh-client"],
  ["/usr/bin/nix-store", "nix-bin"],
  ["/usr/bin/unshare", "util-linux"],
  ["/usr/bin/setpriv", "util-linux"],
  ["/usr/bin/sudo", "sudo"],
  ["/usr/bin/openssl", "openssl"],
  // The systemd-managed host (SystemdHost) boots with it.
  ["/usr/bin/systemd-nspawn", "systemd-container"],
];

/** Why the testbed cannot run here (missing root or Debian packages), or undefined when it can. */
export function checkPrerequisites(): string | undefined {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("the testbed makes mount namespaces and must run as root");
  const missing = TOOLS.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  if (missing.length > 0)
    problems.push(`missing Debian packages: ${[...new Set(missing)].join(" ")} (run scripts/setup.sh)`);
  return problems.length === 0 ? undefined : problems.join("; ");
}
