import type { NodeConfig, Transport } from "@hive/core";
import type { SshTarget, SshTransportPool } from "@hive/ssh";
import { printWarning } from "./report.js";

/** Where a node is reached over SSH, or undefined when deployment.targetHost is null. */
export function sshTargetOf(node: NodeConfig): SshTarget | undefined {
  const d = node.deployment;
  if (d.targetHost === null) return undefined;
  return { host: d.targetHost, port: d.targetPort, user: d.targetUser, sshOptions: d.sshOptions, node: node.name };
}

/** The transport factory every command gives the library: one pooled SSH connection per host. */
export function sshTransports(pool: SshTransportPool): (node: NodeConfig) => Transport | undefined {
  const warned = new Set<string>();
  return (node) => {
    const target = sshTargetOf(node);
    if (target === undefined) return undefined;
    const transport = pool.transportFor(target, node.deployment.privilegeEscalationCommand);
    // Valid ssh(1) flags hive cannot act on deploy anyway, with one warning per node.
    if (transport.host.ignoredOptions.length > 0 && !warned.has(node.name)) {
      warned.add(node.name);
      printWarning(`node ${node.name}: deployment.sshOptions: ${transport.host.ignoredOptions.join("; ")}`);
    }
    return transport;
  };
}
