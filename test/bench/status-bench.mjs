// `hive status` against a no-op `hive apply` on the same up-to-date fleet, both through the CLI
// (evaluation included): status must cost no more than the fan-out of a deploy that changes nothing.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testbed, miniNixpkgsPath } from "../../packages/testbed/dist/index.js";
import { generateHive } from "./generate-hive.mjs";
import { median } from "./measure.mjs";
import { hiveFor } from "./hive-cli.mjs";

export async function statusBench({ hosts = 30, rounds = 5 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "hive-status-bench-"));
  await generateHive(dir, hosts, miniNixpkgsPath);
  const names = Array.from({ length: hosts }, (_, i) => `node-${String(i + 1).padStart(3, "0")}`);
  const fleet = await Testbed.start({ hosts: names.map((name) => ({ name })) });
  const hive = hiveFor(fleet, dir);
  try {
    await hive("apply", "-p", String(hosts), "--log-format", "plain");
    const samples = { apply: [], status: [] };
    for (let i = 0; i < rounds; i++) {
      let start = performance.now();
      const noop = await hive("apply", "-p", String(hosts), "--log-format", "plain");
      samples.apply.push(performance.now() - start);
      if ((noop.stdout.match(/: unchanged/g) ?? []).length !== hosts)
        throw new Error("the no-op apply changed something");
      start = performance.now();
      const status = await hive("status", "--json", "-p", String(hosts));
      samples.status.push(performance.now() - start);
      if (JSON.parse(status.stdout).some((s) => s.verdict !== "up-to-date"))
        throw new Error("a host is not up to date");
    }
    const ratio = median(samples.status) / median(samples.apply);
    return {
      name: `hive status on ${hosts} up-to-date hosts against a no-op hive apply (CLI, evaluation included; medians of ${rounds})`,
      lines: [
        `no-op apply: ${median(samples.apply).toFixed(0)} ms; status: ${median(samples.status).toFixed(0)} ms`,
        `ratio status / no-op apply: ${ratio.toFixed(2)}x (target <= 1.0x)`,
      ],
      ratio,
      target: 1,
    };
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
