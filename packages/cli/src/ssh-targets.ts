import type { NodeConfig } from "@hive/core";
import type { SshTarget } from "@hive/ssh";

/** Where a node is reached over SSH, or undefined when deployment.targetHost is null. */
export function sshTargetOf(node: NodeConfig): SshTarget | undefined {
  const d = node.deployment;
  if (d.targetHost === null) return undefined;
  return { host: d.targetHost, port: d.targetPort, user: d.targetUser, sshOptions: d.sshOptions, node: node.name };
}
