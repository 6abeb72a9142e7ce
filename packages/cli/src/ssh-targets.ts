import type { NodeConfig, Transport } from "@hive/core";
import { OpenSshTransport, SshTransportPool, defaultConfigSources, type SshBackend, type SshTarget } from "@hive/ssh";
import { printNote, printWarning } from "./report.js";
import { SudoPassword } from "./sudo-prompt.js";

/** Where a node is reached over SSH, or undefined when deployment.targetHost is null. */
export function sshTargetOf(node: NodeConfig): SshTarget | undefined {
  const d = node.deployment;
  if (d.targetHost === null) return undefined;
  return { host: d.targetHost, port: d.targetPort, user: d.targetUser, sshOptions: d.sshOptions, node: node.name };
}

/** How privileged commands get a sudo password: for every node (--interactive-sudo) or those that ask. */
export interface SudoUse {
  password: () => Promise<Buffer>;
  everyNode: boolean;
}

/** The transport factory every command gives the library: one pooled SSH connection per host. */
export function sshTransports(pool: SshTransportPool, sudo?: SudoUse): (node: NodeConfig) => Transport | undefined {
  const warned = new Set<string>();
  return (node) => {
    const target = sshTargetOf(node);
    if (target === undefined) return undefined;
    const feedsSudo = sudo !== undefined && (sudo.everyNode || node.deployment.interactiveSudo === true);
    const transport = pool.transportFor(
      target,
      node.deployment.privilegeEscalationCommand,
      feedsSudo ? sudo.password : undefined,
      node.deployment.sshTransport ?? "auto",
    );
    // Valid ssh(1) flags and ssh_config settings hive cannot act on deploy anyway, with one warning per node.
    if (!warned.has(node.name)) {
      warned.add(node.name);
      if (transport instanceof OpenSshTransport)
        printNote(`node ${node.name}: reached through OpenSSH (ssh), for ${transport.openssh.reason}`);
      const { ignoredOptions, ignoredConfig } = transport.host;
      if (ignoredOptions.length > 0)
        printWarning(`node ${node.name}: deployment.sshOptions: ${ignoredOptions.join("; ")}`);
      if (ignoredConfig.length > 0)
        printWarning(`node ${node.name}: ssh_config settings hive does not use: ${ignoredConfig.join("; ")}`);
    }
    return transport;
  };
}

/** The --interactive-sudo option (deploy-rs' name), for every command that runs privileged commands. */
export const interactiveSudoOption = {
  type: "boolean",
  default: false,
  describe:
    "ask once for the deploy user's sudo password (without echo) and feed it to sudo -S on hosts that need it; deployment.interactiveSudo asks for one node",
} as const;

/** The sudo password source of a command: asked for now with --interactive-sudo, else when a node first needs it. */
export async function sudoFrom(args: { "interactive-sudo": boolean }): Promise<SudoUse> {
  const password = new SudoPassword();
  // Asked before anything draws on the terminal.
  if (args["interactive-sudo"]) await password.get();
  return { password: password.get, everyNode: args["interactive-sudo"] };
}

/** The --ssh option: which SSH reaches the hosts. */
export const sshBackendOption = {
  type: "string",
  choices: ["auto", "ssh2", "openssh"] as const,
  default: "auto" as const,
  describe:
    "how hosts are reached: ssh2 (built in), openssh (your ssh, one master connection per host), auto: openssh only for hosts that need it (certificates, FIDO keys, IdentityAgent, @cert-authority)",
} as const;

/** The run's SSH connections, one per host, through the backend --ssh names. */
export function sshPool(args: { ssh?: string | undefined }): SshTransportPool {
  const backend: SshBackend = args.ssh === "ssh2" || args.ssh === "openssh" ? args.ssh : "auto";
  return new SshTransportPool(defaultConfigSources(), process.env["SSH_AUTH_SOCK"], backend);
}
