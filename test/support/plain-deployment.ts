import type { NodeConfig } from "@hive/core";

/** The deployment settings of a node that sets only its target (as the evaluator reports them). */
export function plainDeployment(targetHost: string): NodeConfig["deployment"] {
  return {
    targetHost,
    targetPort: null,
    targetUser: "root",
    allowLocalDeployment: false,
    buildOnTarget: false,
    tags: [],
    keys: {},
    replaceUnknownProfiles: true,
    privilegeEscalationCommand: [],
    sshOptions: [],
  };
}
