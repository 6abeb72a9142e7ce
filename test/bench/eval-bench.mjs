// Issue 3's benchmark: hive's chunked, parallel evaluation of every node's system derivation
// against one nix-instantiate of the same derivations in one process, side by side.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Hive, resolveEvalLimits } from "../../packages/eval/dist/index.js";
import { EVAL_SCHEMA_VERSION } from "../../packages/core/dist/index.js";
import { miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { generateHive } from "./generate-hive.mjs";
import { measure, median, mib } from "./measure.mjs";

const run = promisify(execFile);
const evaluator = fileURLToPath(new URL("../../packages/eval/assets/evaluator.nix", import.meta.url));
const deploymentOptions = fileURLToPath(new URL("../../packages/eval/assets/deployment-options.nix", import.meta.url));

export async function evalBench({ nodes = 200, rounds = 5 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "hive-bench-eval-"));
  try {
    await generateHive(dir, nodes, miniNixpkgsPath);
    const hivePath = join(dir, "hive.nix");
    const names = Array.from({ length: nodes }, (_, i) => `node-${String(i + 1).padStart(3, "0")}`);
    const baselineExpr = `((import ${evaluator}) { hermetic = false; schema = ${EVAL_SCHEMA_VERSION}; deploymentOptions = import ${deploymentOptions}; } (import ${hivePath})).instantiate (builtins.fromJSON ''${JSON.stringify(names)}'')`;
    const baseline = async () => {
      const { stdout } = await run("nix-instantiate", ["-E", baselineExpr], {
        env: nixEnvironment(),
        maxBuffer: 1 << 26,
      });
      const drvs = stdout.trim().split("\n");
      if (drvs.length !== nodes) throw new Error(`baseline instantiated ${drvs.length} of ${nodes}`);
      return drvs;
    };
    const limits = resolveEvalLimits("auto", nodes);
    const bounded = resolveEvalLimits(10, nodes);
    const hive = async (chosen = limits) => {
      const opened = await Hive.open({ cwd: dir });
      const drvs = [];
      await opened.evaluate(
        opened.nodes,
        (o) => {
          if (!o.ok) throw o.error;
          drvs.push(o.value.drvPath);
        },
        { limits: chosen },
      );
      if (drvs.length !== nodes) throw new Error(`hive evaluated ${drvs.length} of ${nodes}`);
      return drvs;
    };
    // Same derivations both ways, or the comparison means nothing.
    const [a, b] = [await baseline(), await hive()];
    if (JSON.stringify([...a].sort()) !== JSON.stringify([...b].sort()))
      throw new Error("hive and nix-instantiate disagree on the derivations");

    const samples = { baseline: [], hive: [], bounded: [] };
    for (let i = 0; i < rounds; i++) {
      samples.baseline.push(await measure(baseline));
      samples.hive.push(await measure(() => hive(limits)));
      samples.bounded.push(await measure(() => hive(bounded)));
    }
    const t = (s) => median(s.map((x) => x.ms));
    const m = (s) => Math.max(...s.map((x) => x.peak));
    const ratio = t(samples.hive) / t(samples.baseline);
    return {
      name: `eval: ${nodes}-node hive, all system derivations`,
      lines: [
        `limits: ${limits.parallel} nix processes at once, chunks sized from memory (auto; ${availableParallelism()} cpus)`,
        `nix-instantiate (one process): median ${t(samples.baseline).toFixed(0)} ms, peak ${mib(m(samples.baseline))}`,
        `hive (chunked, parallel):      median ${t(samples.hive).toFixed(0)} ms, peak ${mib(m(samples.hive))} (all nix processes together)`,
        `hive --eval-node-limit 10:       median ${t(samples.bounded).toFixed(0)} ms, peak ${mib(m(samples.bounded))} (memory bounded by the chunk limit)`,
        `ratio hive / baseline: ${ratio.toFixed(2)}x (target <= 0.75x); with limit 10: ${(t(samples.bounded) / t(samples.baseline)).toFixed(2)}x`,
      ],
      ratio,
      target: 0.75,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
