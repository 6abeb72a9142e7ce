// Plain JavaScript, so that the library benchmark (run by Node against the built packages) and
// the TypeScript tests share it.

/**
 * The deployment settings of a node that sets only its target (as the evaluator reports them).
 * @param {string} targetHost
 * @returns {import("@hive/core").NodeConfig["deployment"]}
 */
export function plainDeployment(targetHost) {
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
