// A no-op `hive apply` (CLI defaults, evaluation included) to a fleet whose hosts already run
// their own systems, against a bare SSH fan-out (`parallel-ssh -p N ... true`, Debian's pssh):
// what checking a whole fleet costs.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Testbed } from "../../packages/testbed/dist/index.js";
import { fleetHive, timedHive, userEnv } from "./cli-fleet.mjs";
import { median } from "./measure.mjs";

const run = promisify(execFile);

export async function cliNoopBench({ hosts = 50, rounds = 5 } = {}) {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const fleet = await Testbed.start({ hosts });
  try {
    const dir = await fleetHive(names, { shared: { paths: 2, bytes: 4096 }, perHost: { paths: 1, bytes: 4096 } });
    await timedHive(fleet, dir, ["apply", "-p", "0", "--log-format", "json"]);
    const hostsFile = join(fleet.dir, "pssh-hosts");
    await writeFile(hostsFile, `${names.join("\n")}\n`);
    // The OpenSSH transport again with the key exchange ssh2 uses, to tell the transport's cost
    // from that of OpenSSH's default post-quantum key exchange.
    const classicConfig = join(fleet.dir, "ssh_config.curve25519");
    await writeFile(classicConfig, `KexAlgorithms curve25519-sha256\nInclude ${fleet.sshConfigPath}\n`);
    const classic = { sshConfigPath: classicConfig };
    const samples = { pssh: [], hive: [], openssh: [], classic: [] };
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      await run("parallel-ssh", ["-p", String(hosts), "-h", hostsFile, "-x", `-F ${fleet.sshConfigPath}`, "true"], {
        env: userEnv(fleet),
      });
      samples.pssh.push(performance.now() - start);
      const noop = await timedHive(fleet, dir, ["apply", "--log-format", "json"]);
      samples.hive.push(noop.ms);
      const summary = JSON.parse(noop.stdout.trim().split("\n").pop() ?? "{}");
      if (summary.unchanged !== hosts) throw new Error(`a no-op apply changed something: ${noop.stdout.slice(-500)}`);
      // The same through the OpenSSH transport (one master connection per host).
      samples.openssh.push((await timedHive(fleet, dir, ["apply", "--ssh", "openssh", "--log-format", "json"])).ms);
      samples.classic.push((await timedHive(classic, dir, ["apply", "--ssh", "openssh", "--log-format", "json"])).ms);
    }
    const ratio = median(samples.hive) / median(samples.pssh);
    return {
      name: `no-op hive apply (CLI defaults, from evaluation) to ${hosts} hosts already up to date (medians of ${rounds})`,
      lines: [
        `parallel-ssh -p ${hosts} true: ${median(samples.pssh).toFixed(0)} ms; hive apply: ${median(samples.hive).toFixed(0)} ms`,
        `ratio hive / parallel-ssh: ${ratio.toFixed(2)}x (target <= 0.5x)`,
        `hive apply --ssh openssh: ${median(samples.openssh).toFixed(0)} ms: ${(median(samples.openssh) / median(samples.hive)).toFixed(2)}x of ssh2 (target <= 1.5x)`,
        `the same with KexAlgorithms curve25519-sha256 (ssh2's): ${median(samples.classic).toFixed(0)} ms: ${(median(samples.classic) / median(samples.hive)).toFixed(2)}x of ssh2`,
      ],
      ratio: ratio / 0.5,
      target: 1,
    };
  } finally {
    await fleet.stop();
  }
}
