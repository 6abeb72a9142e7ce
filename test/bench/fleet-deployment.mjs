// A deploy through hive's API to testbed hosts, with the settings a plain hive node has.
import { execFileSync } from "node:child_process";
import { BuildScheduler } from "../../packages/build/dist/index.js";
import { parseNodeName, parseStorePath } from "../../packages/core/dist/index.js";
import { Deployment } from "../../packages/deploy/dist/index.js";
import { localBuildSystems, nixEnvironment } from "../../packages/nix/dist/index.js";
import { SshTransportPool } from "../../packages/ssh/dist/index.js";
import { plainBuiltNode, plainDeploymentOptions } from "../support/plain-deployment.mjs";

/** Switches `names` to the system of `drv`; resolves with one summary per node. */
export async function deployToFleet(
  fleet,
  names,
  drv,
  { parallel = 10, gzip = false, confirmTimeoutMs = 30_000 } = {},
) {
  const pool = new SshTransportPool({ userConfig: fleet.sshConfigPath, home: fleet.dir }, undefined);
  const outPath = parseStorePath(
    execFileSync("nix-store", ["-q", "--outputs", drv], { env: nixEnvironment(), encoding: "utf8" }).trim(),
  );
  const scheduler = new BuildScheduler({
    localSystems: await localBuildSystems(),
    machines: [],
    maxJobs: 2,
    substitute: false,
  });
  const deployment = new Deployment(
    plainDeploymentOptions({ build: (node, d) => scheduler.build(node, d), pool, parallel, gzip, confirmTimeoutMs }),
  );
  for (const name of names) deployment.add(plainBuiltNode(parseNodeName(name), drv, outPath));
  try {
    return await deployment.finish();
  } finally {
    await pool.closeAll();
  }
}
