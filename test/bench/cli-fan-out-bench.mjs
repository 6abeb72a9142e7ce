// Fan-out: 10 hosts behind one shared uplink (50 Mbit/s, 20 ms each way: a deployer far from its
// fleet), each needing 20 MiB of new incompressible paths, most of them shared. `hive apply` with
// `--fan-out auto` (hosts copy from each other over their own, fast network) against the same
// apply with `--fan-out off`, side by side, and `--via-cache` through an HTTP binary cache beside
// the fleet (behind the same uplink, trusted by every host); the uplink's own byte count for each.
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BinaryCacheServer, LinkProxy, Testbed, nixEnvironment } from "../../packages/testbed/dist/index.js";
import { fleetHive, phases, resetHosts, timedHive } from "./cli-fleet.mjs";
import { median } from "./measure.mjs";

const MiB = 1024 * 1024;

export async function cliFanOutBench({ hosts = 10, rounds = 3 } = {}) {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const fleet = await Testbed.start({ hosts });
  const cacheDir = await mkdtemp(join(tmpdir(), "hive-bench-cache-"));
  const caches = [];
  try {
    const link = { bytesPerSecond: 50e6 / 8, latencyMs: 20 };
    const uplink = await fleet.uplink(link);
    const secret = join(cacheDir, "secret.key");
    const pub = join(cacheDir, "public.key");
    await promisify(execFile)("nix-store", ["--generate-binary-cache-key", "hive-bench-cache-1", secret, pub], {
      env: nixEnvironment(),
    });
    const trust = `trusted-public-keys = ${(await readFile(pub, "utf8")).trim()}`;
    await Promise.all(names.map((n) => fleet.host(n).run(["sh", "-c", `echo "${trust}" >> /etc/nix/nix.conf`])));
    // An empty cache at a new address each round (Nix remembers what a cache URL had).
    const viaCache = async () => {
      const cache = await BinaryCacheServer.start(join(cacheDir, `cache-${caches.length}`));
      const cacheLink = await LinkProxy.start({ targetPort: cache.port, ...link, uplink });
      caches.push(cache, cacheLink);
      return [
        "--via-cache",
        `http://127.0.0.1:${cacheLink.port}?secret-key=${secret}&compression=none`,
        "--via-cache-substituter",
        cache.url,
      ];
    };
    const dir = await fleetHive(names, {
      shared: { paths: 18, bytes: MiB },
      perHost: { paths: 2, bytes: MiB },
      seed: `fan-out-${Date.now()}`,
      nodeExtra: (name) =>
        `deployment.targetHost = "${name}-link"; deployment.fanOut = { address = "127.0.0.1"; port = ${fleet.host(name).port}; };`,
    });
    const modes = {
      off: async () => ["--fan-out", "off"],
      auto: async () => ["--fan-out", "auto"],
      cache: async () => ["--fan-out", "off", ...(await viaCache())],
    };
    const samples = { off: [], auto: [], cache: [] };
    const crossed = { off: [], auto: [], cache: [] };
    let breakdown = "";
    for (let i = 0; i < rounds; i++) {
      for (const [mode, flags] of Object.entries(modes)) {
        await resetHosts(fleet, names);
        const args = await flags();
        const before = uplink.bytesForwarded;
        const run = await timedHive(fleet, dir, ["apply", "-p", String(hosts), ...args, "--log-format", "json"]);
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
        `--via-cache: ${median(samples.cache).toFixed(0)} ms, ${mib(crossed.cache)} crossed the uplink: ${(median(samples.cache) / median(samples.off)).toFixed(2)}x of off`,
      ],
      ratio,
      target: 0.25,
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
    await fleet.stop();
  }
}
