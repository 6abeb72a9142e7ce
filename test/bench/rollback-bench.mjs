// What magic rollback costs: the same switches of 10 hosts with and without it (the deploy lock
// is taken either way). Both systems are on the hosts after the first two rounds, so what is
// measured is activation: the runner's wait for confirmation and hive's new connection.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseDrvPath } from "../../packages/core/dist/index.js";
import { deployToFleet } from "./fleet-deployment.mjs";
import { Testbed, miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { median } from "./measure.mjs";

const run = promisify(execFile);

async function instantiate(name) {
  const expr = `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ { networking.hostName = "${name}"; } ]; }).config.system.build.toplevel`;
  return parseDrvPath((await run("nix-instantiate", ["-E", expr], { env: nixEnvironment() })).stdout.trim());
}

export async function rollbackBench({ hosts = 10, rounds = 5 } = {}) {
  const systems = [await instantiate("rollback-a"), await instantiate("rollback-b")];
  const fleet = await Testbed.start({ hosts });
  try {
    const names = fleet.hosts.map((h) => h.name);
    const samples = { magic: [], plain: [] };
    const deploy = async (drv, confirmTimeoutMs) => {
      const start = performance.now();
      const results = await deployToFleet(fleet, names, drv, { confirmTimeoutMs });
      if (results.some((r) => r.outcome !== "succeeded")) throw new Error(`deploy failed: ${JSON.stringify(results)}`);
      return performance.now() - start;
    };
    await deploy(systems[0], 0);
    await deploy(systems[1], 0);
    for (let i = 0; i < rounds; i++) {
      samples.magic.push(await deploy(systems[0], 30_000));
      samples.plain.push(await deploy(systems[1], 0));
    }
    const ratio = median(samples.magic) / median(samples.plain);
    return {
      name: `switch ${hosts} hosts with magic rollback against without it (medians of ${rounds})`,
      lines: [
        `without: ${median(samples.plain).toFixed(0)} ms; with (confirmed over a new connection): ${median(samples.magic).toFixed(0)} ms`,
        `ratio with / without: ${ratio.toFixed(2)}x (target <= 1.15x)`,
      ],
      ratio,
      target: 1.15,
    };
  } finally {
    await fleet.stop();
  }
}
