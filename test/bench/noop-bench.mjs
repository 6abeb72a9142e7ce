// A no-op apply to 50 hosts already running their system, against a bare SSH fan-out
// (`parallel-ssh -p 50 ... true`, Debian's pssh): what checking a whole fleet costs.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseDrvPath } from "../../packages/core/dist/index.js";
import { deployToFleet } from "./fleet-deployment.mjs";
import { Testbed, miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { median } from "./measure.mjs";

const run = promisify(execFile);

export async function noopBench({ hosts = 50, rounds = 5 } = {}) {
  const expr = `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ { networking.hostName = "noop"; } ]; }).config.system.build.toplevel`;
  const drv = parseDrvPath((await run("nix-instantiate", ["-E", expr], { env: nixEnvironment() })).stdout.trim());
  const fleet = await Testbed.start({ hosts });
  try {
    const names = fleet.hosts.map((h) => h.name);
    const first = await deployToFleet(fleet, names, drv, { parallel: 50 });
    if (first.some((s) => s.outcome !== "succeeded"))
      throw new Error(`setup deploy failed: ${JSON.stringify(first.filter((s) => s.outcome !== "succeeded"))}`);
    const hostsFile = join(fleet.dir, "pssh-hosts");
    await writeFile(hostsFile, `${names.join("\n")}\n`);
    const samples = { pssh: [], hive: [] };
    for (let i = 0; i < rounds; i++) {
      let start = performance.now();
      await run("parallel-ssh", ["-p", String(hosts), "-h", hostsFile, "-x", `-F ${fleet.sshConfigPath}`, "true"]);
      samples.pssh.push(performance.now() - start);
      start = performance.now();
      const summaries = await deployToFleet(fleet, names, drv, { parallel: 50 });
      samples.hive.push(performance.now() - start);
      if (summaries.some((s) => s.outcome !== "unchanged")) throw new Error("a no-op apply changed something");
    }
    const ratio = median(samples.hive) / median(samples.pssh);
    return {
      name: `no-op apply to ${hosts} hosts already up to date (medians of ${rounds})`,
      lines: [
        `parallel-ssh -p ${hosts} true: ${median(samples.pssh).toFixed(0)} ms; hive (connect, compare, report): ${median(samples.hive).toFixed(0)} ms`,
        `ratio hive / parallel-ssh: ${ratio.toFixed(2)}x (target <= 1.0x)`,
      ],
      ratio,
      target: 1,
    };
  } finally {
    await fleet.stop();
  }
}
