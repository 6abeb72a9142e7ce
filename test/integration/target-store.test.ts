import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isHiveError, parseNodeName, parseStorePath, type Transport } from "@hive/core";
import { copyClosure, Host, SharedExporter, TargetStore } from "@hive/deploy";
import { closureOf } from "@hive/nix";
import { SshTransportPool } from "@hive/ssh";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { nixBuild } from "../support/run.js";

/** A system whose payload is `paths` paths of `bytes` each, compressible or random. */
const system = async (name: string, compressible: boolean) =>
  parseStorePath(
    await nixBuild(
      `(import ${miniNixpkgsPath}/nixos/lib/eval-config.nix { system = "x86_64-linux"; modules = [ { networking.hostName = "${name}"; testbed.payload = { paths = 3; bytes = 700000; compressible = ${compressible}; seed = "${name}-${Date.now()}"; }; } ]; }).config.system.build.toplevel`,
    ),
  );

describe("a target's store, through one nix-store --serve", () => {
  const fleet = useFleet({ hosts: ["t1", "t2"].map((name) => ({ name })) });
  const pool = () => new SshTransportPool({ userConfig: fleet().sshConfigPath, home: fleet().dir }, undefined);
  const pools: SshTransportPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.closeAll()));
  });

  /** The host through hive's SSH transport, with every command it runs recorded. */
  const hostOf = (name: string): { host: Host; commands: string[] } => {
    const p = pool();
    pools.push(p);
    const transport = p.transportFor({ host: name, port: null, user: null, sshOptions: [], node: name }, []);
    const commands: string[] = [];
    const recording: Transport = {
      description: transport.description,
      exec: (argv, options) => {
        commands.push(argv.join(" "));
        return transport.exec(argv, options);
      },
      close: () => transport.close(),
    };
    return { host: new Host(recording, parseNodeName(name)), commands };
  };

  const onHost = async (name: string, script: string) => {
    const result = await fleet().host(name).run(["sh", "-c", script]);
    return result;
  };

  it("copies compressible paths through gzip and random ones without, whole and valid on the host", async () => {
    const { host, commands } = hostOf("t1");
    const roots = [];
    for (const compressible of [true, false]) {
      commands.length = 0;
      const root = await system(`serve-${compressible}`, compressible);
      roots.push(root);
      const closure = await closureOf([root]);
      const result = await copyClosure(host, root, {
        gzip: true,
        substitute: false,
        exporter: new SharedExporter().join(),
      });
      // Its payload and toplevel are new (a new seed); the base it shares with the first is not.
      expect(result.paths).toBe(closure.length);
      expect(result.copied).toBeGreaterThanOrEqual(4);
      // One server answered and took the paths; a compressed copy had one behind gzip of its own.
      expect(commands.filter((c) => c.includes("exec nix-store --serve --write"))).toHaveLength(1);
      expect(commands.filter((c) => c.includes("gzip -d | nix-store --serve --write"))).toHaveLength(
        compressible ? 1 : 0,
      );
      expect((await onHost("t1", `nix-store --check-validity ${root}`)).code).toBe(0);
    }
    expect((await onHost("t1", "nix-store --verify --check-contents")).code).toBe(0);
    // Asked again, the host lacks nothing.
    const store = new TargetStore(host);
    expect((await store.query(await closureOf(roots), false)).missing).toEqual([]);
    await store.close();
  });

  it("reads its answers after whatever the host's shell prints first", async () => {
    await writeFile(
      join(fleet().host("t2").paths.dir, "home", "root", ".bashrc"),
      'echo "welcome to t2"\necho "free=this is not hive talking"\necho\n',
    );
    const { host } = hostOf("t2");
    const root = await system("serve-chatty", false);
    const closure = await closureOf([root]);
    const store = new TargetStore(host);
    const before = await store.query(closure, false);
    expect(before.missing).toHaveLength(closure.length);
    expect(before.freeBytes).toBeGreaterThan(0);
    await copyClosure(host, root, { gzip: false, substitute: false, exporter: new SharedExporter().join(), store });
    expect((await store.query(closure, false)).missing).toEqual([]);
    await store.close();
  });

  it("fails a path whose content is not what this machine's store says, naming the node, and the host keeps none of it", async () => {
    const { host } = hostOf("t1");
    const root = await system("serve-tampered", false);
    const closure = await closureOf([root]);
    const other = closure.find((p) => p.path !== root);
    // The root's record claims another path's NAR hash: the host hashes what it gets, and refuses.
    const tampered = closure.map((p) => (p.path === root ? { ...p, narHash: other?.narHash ?? "" } : p));
    const error: unknown = await copyClosure(host, root, {
      gzip: false,
      substitute: false,
      exporter: new SharedExporter().join(),
      closure: tampered,
    }).catch((e: unknown) => e);
    expect(isHiveError(error)).toBe(true);
    expect(String(error)).toMatch(/node t1: push: nix-store --serve failed on .*\n.*hash mismatch/s);
    expect((await onHost("t1", `nix-store --check-validity ${root}`)).code).not.toBe(0);
  });
});
