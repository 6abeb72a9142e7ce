// Issue 5's benchmark: 20 nodes with distinct closures, some slow to build. hive's pipelined
// apply (each node pushed and switched as soon as its own system is built) against building
// everything first (one nix-store --realise of every system, same --max-jobs) and then deploying.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Testbed, miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { median } from "./measure.mjs";
import { hiveFor } from "./hive-cli.mjs";

const run = promisify(execFile);
const MAX_JOBS = 4;

/** A hive of `count` nodes; node i's system holds a derivation that takes (i % 4) * 0.6 s to build. */
async function writeHive(dir, count, seed) {
  const nodes = Array.from({ length: count }, (_, i) => {
    const name = `p-${String(i + 1).padStart(2, "0")}`;
    const seconds = ((i % 4) * 0.6).toFixed(1);
    return `  ${name} = { environment.etc."work".text = "\${slow "${name}" "${seconds}"}"; testbed.payload = { paths = 4; bytes = 256 * 1024; seed = "${seed}-${name}"; }; };`;
  });
  await writeFile(
    join(dir, "hive.nix"),
    `let
  slow = name: seconds: derivation {
    name = "work-\${name}-${seed}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "/usr/bin/sleep \${seconds}; echo \${name} > $out" ];
  };
in {
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  defaults = { name, ... }: { networking.hostName = name; };
${nodes.join("\n")}
}
`,
  );
}

export async function pipelineBench({ hosts = 20, rounds = 3 } = {}) {
  const names = Array.from({ length: hosts }, (_, i) => `p-${String(i + 1).padStart(2, "0")}`);
  const fleet = await Testbed.start({ hosts: names.map((name) => ({ name })) });
  const dir = await mkdtemp(join(tmpdir(), "hive-pipeline-bench-"));
  const hive = hiveFor(fleet, dir);
  const samples = { pipelined: [], sequential: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? ["sequential", "pipelined"] : ["pipelined", "sequential"]) {
        await writeHive(dir, hosts, `${mode}-${round}-${Date.now()}`);
        // The derivations are instantiated outside the timer for both (hive evaluates again inside).
        const drvs = JSON.parse(
          (
            await hive(
              "eval",
              "--instantiate",
              "-E",
              "{ nodes, ... }: builtins.mapAttrs (_: n: n.config.system.build.toplevel) nodes",
            )
          ).stdout,
        );
        const start = performance.now();
        if (mode === "sequential") {
          await run("nix-store", ["--realise", "--max-jobs", String(MAX_JOBS), ...Object.values(drvs)], {
            env: { ...nixEnvironment(), NIX_CONFIG: "substituters =" },
            maxBuffer: 1 << 26,
          });
        }
        const applied = await hive(
          "apply",
          "-p",
          String(hosts),
          "--max-jobs",
          String(MAX_JOBS),
          "--log-format",
          "plain",
        );
        samples[mode].push(performance.now() - start);
        if ((applied.stdout.match(/: succeeded/g) ?? []).length !== hosts)
          throw new Error(`${mode}: not every node succeeded`);
      }
    }
    const ratio = median(samples.pipelined) / median(samples.sequential);
    return {
      name: `apply ${hosts} nodes with distinct, partly slow builds (--max-jobs ${MAX_JOBS}; medians of ${rounds})`,
      lines: [
        `build everything, then hive apply: ${median(samples.sequential).toFixed(0)} ms; hive apply, pipelined: ${median(samples.pipelined).toFixed(0)} ms`,
        `ratio pipelined / build-then-deploy: ${ratio.toFixed(2)}x (target <= 0.7x)`,
      ],
      ratio,
      target: 0.7,
    };
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
