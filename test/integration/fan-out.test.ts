import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promisify } from "node:util";
import { isHiveError, parseNodeName, parseStorePath } from "@hive/core";
import { authorizePeer, Host, makeSenderKey, removeSenderKey, verifyPeerCopy } from "@hive/deploy";
import { SshTransportPool } from "@hive/ssh";
import { LinkProxy, nixEnvironment, type Uplink } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { fanOutLeftovers, ROOT_KEYS, sharedPathsHive } from "../support/shared-paths.js";
import { nixBuild } from "../support/run.js";

const MiB = 1024 * 1024;
const SHARED = { paths: 8, bytes: MiB };
const sharedBytes = SHARED.paths * SHARED.bytes;

/**
 * Fan-out: hosts behind one shared, throttled uplink (the testbed's, which counts every byte that
 * crosses it) that need the same new paths get them across the uplink about once, and from each
 * other over their own network for the rest.
 */
describe("fan-out (--fan-out auto, deployment.fanOut)", () => {
  const names = ["h1", "h2", "h3", "h4", "h5", "h6"];
  const fleet = useFleet({ hosts: names.map((name) => ({ name })) });
  let uplink: Uplink;
  const slowLinks: LinkProxy[] = [];
  beforeAll(async () => {
    uplink = await fleet().uplink({ bytesPerSecond: 100e6 / 8, latencyMs: 5 });
  });
  afterAll(async () => {
    await Promise.all(slowLinks.map((l) => l.close()));
  });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  /** A hive whose hosts share new paths and declare where their peers reach them. */
  const fanOutHive = (peerPort: (name: string) => number) =>
    sharedPathsHive(names, SHARED, (n) => `deployment.fanOut = { address = "127.0.0.1"; port = ${peerPort(n)}; };`);

  const events = (stdout: string) =>
    stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** No ephemeral key is left: not let in on any receiver, not kept on any sender. */
  const leftovers = (name: string) => fanOutLeftovers(fleet().host(name));

  it("sends what six hosts share across the uplink about once; every store verifies, every host runs its system, no key is left", async () => {
    const dir = await fanOutHive((n) => fleet().host(n).port);
    const before = uplink.bytesForwarded;
    const result = await hive(["apply", "-f", dir, "--log-format", "json", "-p", "6"], { env: env() });
    expect(result.code, result.stdout.slice(-3000) + result.stderr).toBe(0);
    const crossed = uplink.bytesForwarded - before;
    const all = events(result.stdout);
    const summary = all.find((e) => e["type"] === "summary") ?? {};
    expect(summary["succeeded"]).toBe(6);
    // Without fan-out the uplink would carry six copies; with it, about one (plus each host's own
    // path, the commands and SSH itself).
    expect(crossed).toBeLessThan(sharedBytes * 1.6);
    expect(crossed).toBeGreaterThan(sharedBytes);
    expect(Number(summary["peerBytes"])).toBeGreaterThanOrEqual(5 * sharedBytes);
    expect(Number(summary["uplinkBytes"])).toBeLessThan(sharedBytes * 1.5);
    expect(all.filter((e) => e["type"] === "warning")).toEqual([]);
    for (const name of names) {
      const host = fleet().host(name);
      const verify = await host.run(["nix-store", "--verify", "--check-contents"]);
      expect(verify.code, `${name}: ${verify.stderr}`).toBe(0);
      const done = all.find((e) => e["type"] === "node-done" && e["node"] === name);
      expect(await host.currentSystem()).toBe(done?.["system"]);
      expect(await leftovers(name)).toBe("");
    }
  });

  it("a peer that dies mid-copy: its receiver is pushed direct and succeeds; off sends every copy from here", async () => {
    // Peers reach each other through slow links here, so a copy between them is still running
    // when its sender is powered off.
    const slow = new Map<string, LinkProxy>();
    for (const name of ["h1", "h2"]) {
      const link = await LinkProxy.start({ targetPort: fleet().host(name).port, bytesPerSecond: 2 * MiB });
      slowLinks.push(link);
      slow.set(name, link);
    }
    const dir = await fanOutHive((n) => slow.get(n)?.port ?? fleet().host(n).port);
    const apply = hive(["apply", "-f", dir, "--on", "h1,h2", "--log-format", "json", "-p", "2"], { env: env() });
    let killed: string | undefined;
    const deadline = Date.now() + 60_000;
    while (killed === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      // Bytes flowing into one host's slow link: the other is its sender.
      const receiving = [...slow].find(([, link]) => link.bytesForwarded > MiB)?.[0];
      if (receiving !== undefined) {
        killed = receiving === "h1" ? "h2" : "h1";
        await fleet().host(killed).powerOff();
      }
    }
    const result = await apply;
    expect(killed, result.stdout.slice(-3000)).toBeDefined();
    const receiver = killed === "h1" ? "h2" : "h1";
    const all = events(result.stdout);
    const warning = all.find((e) => e["type"] === "warning" && e["node"] === receiver);
    expect(String(warning?.["message"])).toMatch(
      new RegExp(`fan-out: copying from peer ${killed ?? "?"} failed, pushing direct instead`),
    );
    const done = all.find((e) => e["type"] === "node-done" && e["node"] === receiver);
    expect(done?.["outcome"], result.stdout.slice(-3000)).toBe("succeeded");
    const host = fleet().host(receiver);
    expect((await host.run(["nix-store", "--verify", "--check-contents"])).code).toBe(0);
    expect(await host.currentSystem()).toBe(done?.["system"]);
    expect(await leftovers(receiver)).toBe("");
    await fleet().reboot(killed ?? "h1");

    // --fan-out off: every host gets every byte from here.
    const off = await fanOutHive((n) => fleet().host(n).port);
    const before = uplink.bytesForwarded;
    const direct = await hive(["apply", "-f", off, "--fan-out", "off", "--on", "h3,h4"], { env: env() });
    expect(direct.code, direct.stdout + direct.stderr).toBe(0);
    expect(uplink.bytesForwarded - before).toBeGreaterThan(2 * sharedBytes);
    expect(direct.stdout).not.toMatch(/fan-out:/);
  });

  it("a peer that sends other content than this machine built fails the node: the receiver's own hashes are checked", async () => {
    const build = (content: string) =>
      nixBuild(
        `derivation { name = "fan-out-${randomUUID()}"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ${content} > $out" ]; }`,
      );
    const genuine = parseStorePath(await build("genuine-content"));
    const poisoned = parseStorePath(await build("genuine-content"));
    // What a compromised peer would send: the same store path, other bytes of the same length.
    const dir = await mkdtemp(join(tmpdir(), "hive-fan-out-nar-"));
    const exported = async (path: string) =>
      (
        await promisify(execFile)("nix-store", ["--export", path], {
          env: nixEnvironment(),
          encoding: "buffer",
          maxBuffer: 1 << 24,
        })
      ).stdout;
    const good = await exported(genuine);
    const bad = Buffer.from(
      (await exported(poisoned)).toString("latin1").replace("genuine-content", "poisons-content"),
      "latin1",
    );
    await writeFile(join(dir, "good"), good);
    await writeFile(join(dir, "bad"), bad);
    for (const file of ["good", "bad"]) {
      const imported = await fleet()
        .host("h5")
        .run(["sh", "-c", `nix-store --import < ${join(dir, file)}`]);
      expect(imported.code, imported.stderr).toBe(0);
    }
    const pool = new SshTransportPool({ userConfig: fleet().sshConfigPath, home: fleet().dir }, undefined);
    try {
      const target = { host: "h5", port: null, user: null, sshOptions: [], node: "h5" };
      const h5 = new Host(pool.transportFor(target, []), parseNodeName("h5"));
      const info = (path: typeof genuine) => ({ path, narSize: 0, references: [] });
      await verifyPeerCopy(h5, parseNodeName("h6"), [info(genuine)]);
      const error: unknown = await verifyPeerCopy(h5, parseNodeName("h6"), [info(genuine), info(poisoned)]).catch(
        (e: unknown) => e,
      );
      expect(isHiveError(error) && error.code).toBe("HIVE_PEER_CONTENT_MISMATCH");
      expect(String(error)).toMatch(new RegExp(`peer h6 sent 1 path\\(s\\) whose content differs.*${poisoned}`));
    } finally {
      await pool.closeAll();
    }
  });

  it("an ephemeral key lets its sender run nix-store --import on the receiver and nothing else, until revoked", async () => {
    const pool = new SshTransportPool({ userConfig: fleet().sshConfigPath, home: fleet().dir }, undefined);
    const hostOf = (name: string) =>
      new Host(
        pool.transportFor({ host: name, port: null, user: null, sshOptions: [], node: name }, []),
        parseNodeName(name),
      );
    const at = (name: string) => ({ address: "127.0.0.1", port: fleet().host(name).port });
    try {
      const key = await makeSenderKey(hostOf("h1"), randomUUID().replace(/-/g, ""));
      const auth = await authorizePeer(hostOf("h2"), at("h2"), key, at("h1"), `hive-fan-out-test-${randomUUID()}`);
      const line = (
        await fleet()
          .host("h2")
          .run(["sh", "-c", `grep hive-fan-out ${ROOT_KEYS}`])
      ).stdout;
      expect(line).toMatch(
        /^restrict,command="nix-store --import",from="127\.0\.0\.1",expiry-time="\d{12}" ssh-ed25519 /,
      );
      // From the sender, with its key: whatever it asks for, the receiver runs nix-store --import.
      const fromSender = (command: string) =>
        fleet()
          .host("h1")
          .run([
            "sh",
            "-c",
            'printf "%s\\n" "$1" > "$2/test_known_hosts"; ssh -F /dev/null -T -i "$2/key" -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile="$2/test_known_hosts" -o StrictHostKeyChecking=yes -p "$3" root@127.0.0.1 "$4" < /dev/null',
            "sh",
            auth.knownHosts,
            key.dir,
            String(fleet().host("h2").port),
            command,
          ]);
      const tried = await fromSender("echo pwned; id");
      expect(tried.stdout).not.toMatch(/pwned|uid=/);
      expect(tried.stderr).toMatch(/end.of.file/i);
      await auth.revoke();
      const after = await fromSender("true");
      expect(after.code).toBe(255);
      expect(after.stderr).toMatch(/Permission denied/);
      expect(
        (
          await fleet()
            .host("h2")
            .run(["sh", "-c", `grep -c hive-fan-out ${ROOT_KEYS}`])
        ).stdout.trim(),
      ).toBe("0");
      await removeSenderKey(hostOf("h1"), key);
      expect((await fleet().host("h1").run(["test", "-e", key.dir])).code).toBe(1);
    } finally {
      await pool.closeAll();
    }
  });
});
