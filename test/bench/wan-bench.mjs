// A push over a modelled WAN link (100 Mbit/s, 40 ms each way), of a compressible system:
// what gzip on the wire buys, against nix copy over the same link.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseNodeName, parseStorePath } from "../../packages/core/dist/index.js";
import { copyClosure, Host, SharedExporter } from "../../packages/deploy/dist/index.js";
import { SshTransportPool } from "../../packages/ssh/dist/index.js";
import { Testbed, miniNixpkgsPath, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { median } from "./measure.mjs";

const run = promisify(execFile);

export async function wanBench({ rounds = 3 } = {}) {
  const expr = `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ { networking.hostName = "wan"; testbed.payload = { paths = 50; bytes = 1024 * 1024; seed = "wan"; compressible = true; }; } ]; }).config.system.build.toplevel`;
  const system = parseStorePath(
    (await run("nix-build", ["--no-out-link", "-E", expr], { env: nixEnvironment() })).stdout.trim(),
  );
  const fleet = await Testbed.start({ hosts: 1 });
  const link = await fleet.link("h1", { latencyMs: 40, bytesPerSecond: (100 * 1000 * 1000) / 8 });
  const reset = () => fleet.host("h1").run(["sh", "-c", "nix-collect-garbage > /dev/null 2>&1"]);
  const hive = async (gzip) => {
    const pool = new SshTransportPool({ userConfig: fleet.sshConfigPath, home: fleet.dir }, undefined);
    const transport = pool.transportFor({ host: "h1-link", port: null, user: null, sshOptions: [], node: "h1" }, []);
    const exporter = new SharedExporter().join();
    await copyClosure(new Host(transport, parseNodeName("h1")), system, { gzip, substitute: false, exporter });
    await pool.closeAll();
  };
  const timed = async (work) => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };
  try {
    const samples = { nixCopy: [], plain: [], gzip: [] };
    for (let i = 0; i < rounds; i++) {
      await reset();
      samples.nixCopy.push(
        await timed(() =>
          run("nix", ["copy", "--to", "ssh://h1-link", system], {
            env: { ...nixEnvironment(), NIX_SSHOPTS: `-F ${fleet.sshConfigPath}` },
          }),
        ),
      );
      await reset();
      samples.plain.push(await timed(() => hive(false)));
      await reset();
      samples.gzip.push(await timed(() => hive(true)));
    }
    const m = (k) => median(samples[k]);
    return {
      name: `push 50 MB (compressible) over a 100 Mbit/s, 40 ms link (medians of ${rounds}; ${(link.bytesForwarded / 1024 / 1024).toFixed(0)} MB crossed it)`,
      lines: [
        `nix copy: ${m("nixCopy").toFixed(0)} ms; hive --no-gzip: ${m("plain").toFixed(0)} ms (${(m("plain") / m("nixCopy")).toFixed(2)}x); hive (gzip): ${m("gzip").toFixed(0)} ms (${(m("gzip") / m("nixCopy")).toFixed(2)}x)`,
      ],
      ratio: m("gzip") / m("nixCopy"),
      target: 1,
    };
  } finally {
    await fleet.stop();
  }
}
