import type { NodeConfig, Transport } from "@hive/core";
import type { SshTarget, SshTransportPool } from "@hive/ssh";

/** Where a node is reached over SSH, or undefined when deployment.targetHost is null. */
export function sshTargetOf(node: NodeConfig): SshTarget | undefined {
  const d = node.deployment;
  if (d.targetHost === null) return undefined;
  return { host: d.targetHost, port: d.targetPort, user: d.targetUser, sshOptions: d.sshOptions, node: node.name };
}

/** The transport factory every command gives the library: one pooled SSH connection per host. */
export function sshTransports(pool: SshTransportPool): (node: NodeConfig) => Transport | undefined {
  return (node) => {
    const target = sshTargetOf(node);
    return target === undefined ? undefined : pool.transportFor(target, node.deployment.privilegeEscalationCommand);
  };
}
