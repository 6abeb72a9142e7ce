import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BinaryCacheServer, LinkProxy, type Uplink } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { sharedPathsHive } from "../support/shared-paths.js";
import { ok } from "../support/run.js";

const MiB = 1024 * 1024;
const SHARED = { paths: 8, bytes: MiB };
const sharedBytes = SHARED.paths * SHARED.bytes;
const UPLINK = { bytesPerSecond: 100e6 / 8, latencyMs: 5 };

/**
 * --via-cache: the deployer sends each new path once, to a binary cache beside the fleet (an HTTP
 * cache the testbed serves, behind the same shared uplink as the hosts); hosts that trust the
 * cache's key substitute from it; a host that does not is pushed direct, and says why.
 */
describe("--via-cache", () => {
  const names = ["h1", "h2", "h3"];
  const fleet = useFleet({ hosts: names.map((name) => ({ name })) });
  let uplink: Uplink;
  let cache: BinaryCacheServer;
  let cacheLink: LinkProxy;
  let keys: { secret: string; public: string };
  beforeAll(async () => {
    uplink = await fleet().uplink(UPLINK);
    const dir = await mkdtemp(join(tmpdir(), "hive-cache-"));
    cache = await BinaryCacheServer.start(join(dir, "cache"));
    cacheLink = await LinkProxy.start({ targetPort: cache.port, ...UPLINK, uplink });
    keys = { secret: join(dir, "secret.key"), public: join(dir, "public.key") };
    await ok("nix-store", ["--generate-binary-cache-key", "hive-test-cache-1", keys.secret, keys.public]);
  });
  afterAll(async () => {
    await cacheLink.close();
    await cache.close();
  });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  const cacheHive = () => sharedPathsHive(names, SHARED);

  it("uploads once; hosts that trust the cache substitute from it, one that does not is pushed direct", async () => {
    const publicKey = (await readFile(keys.public, "utf8")).trim();
    for (const name of ["h1", "h2"])
      await fleet()
        .host(name)
        .run(["sh", "-c", `echo "trusted-public-keys = ${publicKey}" >> /etc/nix/nix.conf`]);
    const dir = await cacheHive();
    const hostsBefore = uplink.bytesForwarded - cacheLink.bytesForwarded;
    const cacheBefore = cacheLink.bytesForwarded;
    const result = await hive(
      [
        "apply",
        "-f",
        dir,
        "--log-format",
        "json",
        "--via-cache",
        `http://127.0.0.1:${cacheLink.port}?secret-key=${keys.secret}&compression=none`,
        "--via-cache-substituter",
        cache.url,
      ],
      { env: env() },
    );
    expect(result.code, result.stdout.slice(-3000) + result.stderr).toBe(0);
    const events = result.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-1)).toMatchObject({ type: "summary", succeeded: 3 });
    // One copy went up to the cache; only the host that does not trust it was sent one directly.
    const toCache = cacheLink.bytesForwarded - cacheBefore;
    const toHosts = uplink.bytesForwarded - cacheLink.bytesForwarded - hostsBefore;
    expect(toCache).toBeGreaterThan(sharedBytes);
    expect(toCache).toBeLessThan(sharedBytes * 1.3);
    expect(toHosts).toBeGreaterThan(sharedBytes);
    expect(toHosts).toBeLessThan(sharedBytes * 1.4);
    const lines = (node: string) =>
      events.filter((e) => e["node"] === node).map((e) => JSON.stringify([e["line"], e["message"]]));
    for (const node of ["h1", "h2"]) expect(lines(node).join("\n")).toMatch(/substituted from http:\/\/127\.0\.0\.1/);
    expect(lines("h3").join("\n")).toMatch(
      /--via-cache: pushing direct: it does not trust the cache's key hive-test-cache-1/,
    );
    for (const name of names) {
      const host = fleet().host(name);
      expect((await host.run(["nix-store", "--verify", "--check-contents"])).code).toBe(0);
      const done = events.find((e) => e["type"] === "node-done" && e["node"] === name);
      expect(await host.currentSystem()).toBe(done?.["system"]);
    }
  });

  it("needs the cache's public key, says how to give it, and deploys nothing without it", async () => {
    const dir = await cacheHive();
    const before = await fleet().host("h1").currentSystem();
    const result = await hive(["apply", "-f", dir, "--via-cache", cache.url], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--via-cache http:\/\/127\.0\.0\.1:\d+: hive needs the cache's public key/);
    expect(result.stderr).toMatch(/--via-cache-public-key NAME:KEY/);
    expect(await fleet().host("h1").currentSystem()).toBe(before);
  });
});
