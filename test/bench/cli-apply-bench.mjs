// Push + switch through the `hive` CLI with its default options, from evaluation on, to fleets
// whose hosts each have their own system (every system already built here), beside what users
// run instead, side by side in each round: `nix copy` + `ssh` switch via `xargs -P N`, and the
// same one host after another (what `nixos-rebuild --target-host` does for a fleet).
import { Testbed } from "../../packages/testbed/dist/index.js";
import { availableParallelism } from "node:os";
import { copyAndSwitchScript, fleetHive, phases, resetHosts, systemsOf, timedHive, timedShell } from "./cli-fleet.mjs";
import { median } from "./measure.mjs";

export async function cliApplyBench({ hosts = 10, rounds = 3 } = {}) {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const fleet = await Testbed.start({ hosts });
  try {
    const dir = await fleetHive(names);
    // Every system built once, here: the rounds measure deploying them.
    await timedHive(fleet, dir, ["build"]);
    const systems = await systemsOf(fleet, dir);
    const script = await copyAndSwitchScript(fleet);
    const pairs = names.map((n) => `${n} ${systems[n]}`).join("\\n");
    const samples = { xargs: [], serial: [], hive: [], cpu: [], rss: [], one: [], oneHive: [], hostsCpu: [] };
    let breakdown = "";
    let oneBreakdown = "";
    for (let round = 0; round < rounds; round++) {
      await resetHosts(fleet, names);
      const xargs = await timedShell(fleet, `printf '${pairs}\\n' | xargs -P ${hosts} -n 2 sh ${script}`);
      samples.xargs.push(xargs.ms);
      await resetHosts(fleet, names);
      samples.serial.push((await timedShell(fleet, `printf '${pairs}\\n' | xargs -P 1 -n 2 sh ${script}`)).ms);
      await resetHosts(fleet, names);
      const run = await timedHive(fleet, dir, ["apply", "--log-format", "json"]);
      samples.hive.push(run.ms);
      // What the hosts' side (their sshd, nix-store, switch) cost in either run: the machine's CPU
      // beside the deploying tree's. The lesser is what any tool makes the hosts do.
      samples.hostsCpu.push(Math.min(xargs.machineCpuMs - xargs.cpuMs, run.machineCpuMs - run.cpuMs));
      samples.cpu.push(run.cpuMs / hosts);
      samples.rss.push(run.peakRss);
      breakdown = phases(run);

      await resetHosts(fleet, ["h1"]);
      samples.one.push((await timedShell(fleet, `sh ${script} h1 ${systems.h1}`)).ms);
      await resetHosts(fleet, ["h1"]);
      const one = await timedHive(fleet, dir, ["apply", "--on", "h1", "--log-format", "json"]);
      samples.oneHive.push(one.ms);
      oneBreakdown = phases(one);
    }
    const m = (k) => median(samples[k]);
    const vsXargs = m("hive") / m("xargs");
    const vsSerial = m("hive") / m("serial");
    const vsOne = m("oneHive") / m("one");
    // The testbed's hosts run on this machine's cores, beside the tool that deploys them: their
    // work alone bounds any tool's time from below here (hosts of their own would not).
    const cores = availableParallelism();
    const floor = m("hostsCpu") / cores;
    return {
      name: `hive apply (CLI defaults, from evaluation) of ${hosts} per-host systems (medians of ${rounds})`,
      lines: [
        `${hosts} hosts: nix copy + ssh via xargs -P ${hosts} ${m("xargs").toFixed(0)} ms, one after another ${m("serial").toFixed(0)} ms, hive ${m("hive").toFixed(0)} ms`,
        `  hive / xargs: ${vsXargs.toFixed(2)}x (target <= 0.6x); hive / one after another: ${vsSerial.toFixed(2)}x (target <= 0.35x)`,
        `  where hive's time went: ${breakdown}`,
        `  hive's process tree: ${m("cpu").toFixed(0)} ms CPU per host, peak RSS ${(Math.max(...samples.rss) / 1024 / 1024).toFixed(0)} MiB`,
        `  the hosts' own work (sshd, nix-store, switch; on this machine's ${cores} cores, shared with the deployer): ${m("hostsCpu").toFixed(0)} ms CPU, so no tool here can take less than ${floor.toFixed(0)} ms: ${(floor / m("xargs")).toFixed(2)}x of xargs, ${(floor / m("serial")).toFixed(2)}x of one after another`,
        `1 host: nix copy + ssh ${m("one").toFixed(0)} ms, hive apply --on h1 ${m("oneHive").toFixed(0)} ms: ${vsOne.toFixed(2)}x (target <= 1.0x)`,
        `  where hive's time went: ${oneBreakdown}`,
      ],
      ratio: Math.max(vsXargs / 0.6, vsSerial / 0.35, vsOne),
      target: 1,
    };
  } finally {
    await fleet.stop();
  }
}
