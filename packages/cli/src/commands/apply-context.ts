import { hostname, userInfo } from "node:os";
import { HiveError, type NodeConfig, type NodeName } from "@hive/core";
import type { DeployOrigin } from "@hive/deploy";
import { gitState, type Hive, type NodeOutcome } from "@hive/eval";
import { HIVE_VERSION } from "../version.js";

/** Where the hive lives on this machine (for .gcroots/); the working directory for remote flakes. */
export function hiveDirectory(hive: Hive): string {
  return hive.localDirectory ?? process.cwd();
}

/** Who deploys what from where, for the hosts' deploy history; git's answer comes when it comes. */
export function deployOrigin(hive: Hive, run: string): DeployOrigin {
  const dir = hive.localDirectory;
  return {
    run,
    user: process.env.SUDO_USER ?? userInfo().username,
    from: hostname(),
    hiveVersion: HIVE_VERSION,
    ...(dir !== undefined ? { git: gitState(dir) } : {}),
  };
}

/** apply-local: this machine is the target, as one node of the hive. */
export interface LocalTarget {
  node: string | undefined;
  sudo: boolean;
}

export async function selectLocalNode(hive: Hive, local: LocalTarget): Promise<NodeName[]> {
  const name = local.node ?? hostname();
  const node = hive.nodes.find((n) => n === name);
  if (node === undefined) {
    throw new HiveError("HIVE_UNKNOWN_NODE", `no node named ${JSON.stringify(name)} in the hive`, {
      hint:
        local.node === undefined
          ? "apply-local picks the node named like this machine's host name; name another with --node"
          : `nodes: ${hive.nodes.join(", ")}`,
    });
  }
  const outcomes: NodeOutcome<NodeConfig>[] = [];
  await hive.nodeConfigs([node], (o) => outcomes.push(o));
  const [outcome] = outcomes;
  if (outcome !== undefined && !outcome.ok) throw outcome.error;
  if (outcome?.value.deployment.allowLocalDeployment !== true) {
    throw new HiveError("HIVE_USAGE", `node ${node} does not allow local deployment`, {
      hint: "set deployment.allowLocalDeployment = true on it",
    });
  }
  return [node];
}
