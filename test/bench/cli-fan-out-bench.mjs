// Fan-out: 10 hosts behind one shared uplink (50 Mbit/s, 20 ms each way: a deployer far from its
// fleet), each needing 20 MiB of new incompressible paths, most of them shared. `hive apply` with
// `--fan-out auto` (hosts copy from each other over their own, fast network) against the same
// apply with `--fan-out off`, side by side; the uplink's own byte count for each.
import { Testbed } from "../../packages/testbed/dist/index.js";
import { fleetHive, phases, resetHosts, timedHive } from "./cli-fleet.mjs";
import { median } from "./measure.mjs";

const MiB = 1024 * 1024;

export async function cliFanOutBench({ hosts = 10, rounds = 3 } = {}) {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const fleet = await Testbed.start({ hosts });
  try {
    const uplink = await fleet.uplink({ bytesPerSecond: 50e6 / 8, latencyMs: 20 });
    const dir = await fleetHive(names, {
      shared: { paths: 18, bytes: MiB },
      perHost: { paths: 2, bytes: MiB },
      seed: `fan-out-${Date.now()}`,
      nodeExtra: (name) =>
        `deployment.targetHost = "${name}-link"; deployment.fanOut = { address = "127.0.0.1"; port = ${fleet.host(name).port}; };`,
    });
    const samples = { off: [], auto: [] };
    const crossed = { off: [], auto: [] };
    let breakdown = "";
    for (let i = 0; i < rounds; i++) {
      for (const mode of ["off", "auto"]) {
        await resetHosts(fleet, names);
        const before = uplink.bytesForwarded;
        const run = await timedHive(fleet, dir, [
          "apply",
          "-p",
          String(hosts),
          "--fan-out",
          mode,
          "--log-format",
          "json",
        ]);
        samples[mode].push(run.ms);
        crossed[mode].push(uplink.bytesForwarded - before);
        if (mode === "auto") breakdown = phases(run);
      }
    }
    const ratio = median(samples.auto) / median(samples.off);
    const mib = (v) => `${(median(v) / MiB).toFixed(0)} MiB`;
    return {
      name: `hive apply to ${hosts} hosts behind a shared 50 Mbit/s, 20 ms uplink, 20 MiB new each, mostly shared (medians of ${rounds})`,
      lines: [
        `--fan-out off: ${median(samples.off).toFixed(0)} ms, ${mib(crossed.off)} crossed the uplink`,
        `--fan-out auto: ${median(samples.auto).toFixed(0)} ms, ${mib(crossed.auto)} crossed the uplink (${breakdown})`,
        `ratio auto / off: ${ratio.toFixed(2)}x (target <= 0.25x)`,
      ],
      ratio,
      target: 0.25,
    };
  } finally {
    await fleet.stop();
  }
}
