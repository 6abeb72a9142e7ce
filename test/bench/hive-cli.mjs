// Runs the built hive CLI against a testbed fleet, as a user would: through the fleet's
// ssh_config, no agent, no binary cache, no NIX_PATH.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const hiveBin = new URL("../../packages/cli/dist/main.js", import.meta.url).pathname;

/** A function running `hive ARGS... -f dir` for this fleet; resolves with stdout and stderr. */
export function hiveFor(fleet, dir) {
  const env = {
    ...process.env,
    SSH_CONFIG_FILE: fleet.sshConfigPath,
    SSH_AUTH_SOCK: "",
    NIX_CONFIG: "substituters =",
    NIX_PATH: "",
  };
  return (...args) => run(process.execPath, [hiveBin, ...args, "-f", dir], { env, maxBuffer: 64 << 20 });
}
