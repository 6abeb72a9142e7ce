// Issue 4's benchmarks on the testbed: pushing a ~300-path / ~100 MB system, and push + switch
// to 10 hosts, against what users run today, side by side, from the same clean state each round.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseNodeName, parseDrvPath } from "../../packages/core/dist/index.js";
import { copyClosure, Host, SharedExporter } from "../../packages/deploy/dist/index.js";
import { deployToFleet } from "./fleet-deployment.mjs";
import { SshTransportPool } from "../../packages/ssh/dist/index.js";
import { Testbed, miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { median } from "./measure.mjs";
import { resetHosts } from "./cli-fleet.mjs";

const run = promisify(execFile);
const sh = (script, env = {}) =>
  run("sh", ["-c", script], { env: { ...nixEnvironment(), ...env }, maxBuffer: 1 << 26 });

async function buildSystem() {
  const expr = `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ { networking.hostName = "bench"; testbed.payload = { paths = 300; bytes = 340 * 1024; seed = "apply-bench"; }; } ]; }).config.system.build.toplevel`;
  const drv = (await run("nix-instantiate", ["-E", expr], { env: nixEnvironment() })).stdout.trim();
  const out = (await run("nix-store", ["--realise", drv], { env: nixEnvironment() })).stdout.trim();
  const size = (await run("nix", ["path-info", "--json", "-rS", out], { env: nixEnvironment() })).stdout;
  const infos = JSON.parse(size);
  return { drv, out, paths: infos.length, bytes: infos.reduce((s, i) => s + i.narSize, 0) };
}

async function timed(work) {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export async function applyBench({ rounds = 3 } = {}) {
  const system = await buildSystem();
  const hosts = Array.from({ length: 10 }, (_, i) => `h${i + 1}`);
  const fleet = await Testbed.start({ hosts: hosts.length });
  const env = { NIX_SSHOPTS: `-F ${fleet.sshConfigPath}` };
  try {
    const samples = { nixCopy: [], hivePush: [], xargs: [], serial: [], hive: [], cpu: [], rss: [] };
    for (let round = 0; round < rounds; round++) {
      await resetHosts(fleet, ["h1"]);
      samples.nixCopy.push(await timed(() => sh(`nix copy --to ssh://h1 ${system.out}`, env)));
      await resetHosts(fleet, ["h1"]);
      samples.hivePush.push(
        await timed(async () => {
          const pool = new SshTransportPool({ userConfig: fleet.sshConfigPath, home: fleet.dir }, undefined);
          const transport = pool.transportFor({ host: "h1", port: null, user: null, sshOptions: [], node: "h1" }, []);
          const host = new Host(transport, parseNodeName("h1"));
          const exporter = new SharedExporter().join();
          await copyClosure(host, system.out, { gzip: false, substitute: false, exporter });
          await pool.closeAll();
        }),
      );

      // What a deploy looks like without hive: copy, then set the profile and switch, per host.
      const script = join(fleet.dir, "deploy-one.sh");
      await writeFile(
        script,
        `set -e\nnix copy --to "ssh://$1" ${system.out}\nssh -F ${fleet.sshConfigPath} "$1" 'nix-env -p /nix/var/nix/profiles/system --set ${system.out} && ${system.out}/bin/switch-to-configuration switch'\n`,
      );
      await resetHosts(fleet, hosts);
      samples.xargs.push(
        await timed(() => sh(`printf '%s\\n' ${hosts.join(" ")} | xargs -P 10 -n 1 sh ${script}`, env)),
      );
      await resetHosts(fleet, hosts);
      samples.serial.push(await timed(() => sh(`for h in ${hosts.join(" ")}; do sh ${script} "$h"; done`, env)));
      await resetHosts(fleet, hosts);
      const cpuBefore = process.cpuUsage();
      let peakRss = process.memoryUsage.rss();
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
      samples.hive.push(
        await timed(async () => {
          const summaries = await deployToFleet(fleet, hosts, parseDrvPath(system.drv));
          const failed = summaries.filter((s) => s.outcome !== "succeeded");
          if (failed.length > 0) throw new Error(`hive failed: ${JSON.stringify(failed)}`);
        }),
      );
      clearInterval(sampler);
      const cpu = process.cpuUsage(cpuBefore);
      samples.cpu.push((cpu.user + cpu.system) / 1000 / hosts.length);
      samples.rss.push(peakRss);
    }
    const m = (k) => median(samples[k]);
    const mb = (system.bytes / 1024 / 1024).toFixed(0);
    return {
      name: `apply: a ${system.paths}-path / ${mb} MB system (medians of ${rounds})`,
      lines: [
        `push to 1 host: nix copy --to ssh:// ${m("nixCopy").toFixed(0)} ms, hive ${m("hivePush").toFixed(0)} ms: ${(m("hivePush") / m("nixCopy")).toFixed(2)}x (target <= 1.0x)`,
        `push + switch to 10 hosts: nix copy + ssh via xargs -P 10 ${m("xargs").toFixed(0)} ms, one after another ${m("serial").toFixed(0)} ms, hive ${m("hive").toFixed(0)} ms`,
        `  hive / xargs -P 10: ${(m("hive") / m("xargs")).toFixed(2)}x (target <= 0.6x); hive / serial: ${(m("hive") / m("serial")).toFixed(2)}x (target <= 0.2x)`,
        `  hive's own CPU: ${m("cpu").toFixed(0)} ms per host; its peak memory (RSS): ${(Math.max(...samples.rss) / 1024 / 1024).toFixed(0)} MiB for 10 hosts`,
      ],
      // The worst of the three, each against its own target (1.0 = exactly on target).
      ratio: Math.max(m("hivePush") / m("nixCopy"), m("hive") / m("xargs") / 0.6, m("hive") / m("serial") / 0.2),
      target: 1,
    };
  } finally {
    await fleet.stop();
  }
}
