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

/**
 * What a Deployment of plain nodes is given by the tests and the library benchmark: it switches,
 * with no keys and no substitutes, over one SSH connection per host from `pool` (each host named
 * as its node).
 * @param {{
 *   build: import("@hive/deploy").DeploymentOptions["build"],
 *   pool: import("@hive/ssh").SshTransportPool,
 *   parallel: number,
 *   gzip: boolean,
 *   confirmTimeoutMs: number,
 * }} settings
 * @returns {import("@hive/deploy").DeploymentOptions}
 */
export function plainDeploymentOptions({ build, pool, parallel, gzip, confirmTimeoutMs }) {
  return {
    goal: "switch",
    build,
    parallel,
    gzip,
    substitute: false,
    reactivate: false,
    forceReplaceUnknownProfiles: false,
    activationTimeoutMs: 600_000,
    breakLock: false,
    confirmTimeoutMs,
    noKeys: true,
    keySources: { text: () => Promise.reject(new Error("no keys")) },
    transportFor: (node) =>
      pool.transportFor({ host: node.name, port: null, user: null, sshOptions: [], node: node.name }, []),
  };
}

/**
 * A plain node whose system is built here.
 * @param {import("@hive/core").NodeName} name
 * @param {import("@hive/core").DrvPath} drvPath
 * @param {import("@hive/core").StorePath} outPath
 * @returns {import("@hive/deploy").DeployNode}
 */
export function plainBuiltNode(name, drvPath, outPath) {
  return { kind: "built", name, deployment: plainDeployment(name), drvPath, outPath };
}
