// `pnpm bench`: every benchmark, each against its baseline run side by side; medians and ratios.
// The headline ones run the `hive` CLI as users run it (cli-apply, cli-noop, cli-fan-out, status); the library
// ones (apply, noop, pipeline, rollback) stay as extra lines.
import { cliApplyBench } from "./cli-apply-bench.mjs";
import { cliNoopBench } from "./cli-noop-bench.mjs";
import { cliFanOutBench } from "./cli-fan-out-bench.mjs";
import { applyBench } from "./apply-bench.mjs";
import { evalBench } from "./eval-bench.mjs";
import { noopBench } from "./noop-bench.mjs";
import { wanBench } from "./wan-bench.mjs";
import { statusBench } from "./status-bench.mjs";
import { pipelineBench } from "./pipeline-bench.mjs";
import { rollbackBench } from "./rollback-bench.mjs";

const benches = {
  "cli-apply": cliApplyBench,
  "cli-noop": cliNoopBench,
  "cli-fan-out": cliFanOutBench,
  eval: evalBench,
  apply: applyBench,
  noop: noopBench,
  wan: wanBench,
  status: statusBench,
  pipeline: pipelineBench,
  rollback: rollbackBench,
};
const only = process.argv.slice(2);
let missed = 0;
for (const [key, bench] of Object.entries(benches)) {
  if (only.length > 0 && !only.includes(key)) continue;
  const result = await bench();
  console.log(`\n== ${result.name}`);
  for (const line of result.lines) console.log(`   ${line}`);
  if (result.ratio > result.target) missed++;
}
if (missed > 0) console.log(`\n${missed} benchmark(s) missed their target on this machine.`);
