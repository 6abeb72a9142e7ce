import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { run } from "../support/run.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A hive mixing what real fleets mix: nodes of this machine's system (two sharing a slow
 * derivation), an aarch64-linux node only a remote builder can build, a node built on its own
 * target, a node of a system nothing here can build, and a node whose build fails.
 */
async function writeHive(seed: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-build-"));
  dirs.push(dir);
  await writeFile(join(dir, "machines"), "ssh://builder aarch64-linux - 2 1\n");
  // Builds run as Nix's build users: the counter must be theirs to append to.
  await writeFile(join(dir, "builds"), "");
  await chmod(join(dir, "builds"), 0o666);
  await chmod(dir, 0o755);
  await writeFile(
    join(dir, "hive.nix"),
    `let
  mini = system: import ${miniNixpkgsPath} { inherit system; };
  # Built once however many nodes need it: each build leaves a line in ./builds.
  shared = derivation {
    name = "shared-tool-${seed}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo built >> ${dir}/builds; sleep 1; echo ok > $out" ];
  };
in {
  meta = {
    nixpkgs = mini "x86_64-linux";
    nodeNixpkgs = { t-arm = mini "aarch64-linux"; t-none = mini "riscv64-linux"; };
    machinesFile = ./machines;
  };
  defaults = { name, ... }: { networking.hostName = name; environment.etc."seed".text = "${seed}"; };
  t-local = { environment.etc."shared".text = "\${shared}"; };
  t-local2 = { environment.etc."shared".text = "\${shared}"; };
  t-arm = { pkgs, ... }: { environment.systemPackages = [ pkgs.hello ]; };
  t-target = { deployment.buildOnTarget = true; environment.etc."where".text = "built on the target"; };
  t-none = { };
  # Cross-compiled, as in NixOS: built here, for aarch64-linux.
  t-cross = { pkgs, ... }: { nixpkgs.crossSystem = "aarch64-linux"; environment.systemPackages = [ pkgs.hello ]; };
  t-broken = { system.extraSystemBuilderCmds = "echo broken-build-${seed} >&2; exit 1"; };
}
`,
  );
  return dir;
}

describe("the build scheduler on a real fleet", () => {
  const fleet = useFleet({
    hosts: [
      { name: "builder", nixConfig: "extra-platforms = aarch64-linux\n" },
      { name: "t-local" },
      { name: "t-local2" },
      { name: "t-arm" },
      { name: "t-target" },
    ],
  });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });
  const systemOf = (stdout: string, node: string) =>
    new RegExp(`^${node}: succeeded \\((/nix/store/[^)]+)\\)$`, "m").exec(stdout)?.[1] ?? "";
  const validHere = async (path: string) =>
    (await run("nix-store", ["--check-validity", path], { env: { ...process.env, NIX_CONFIG: "" } })).code === 0;

  it("shows where each node would be built (a cross-compiled one here), and that nothing can build one, before anything runs", async () => {
    const dir = await writeHive(`plan-${Date.now()}`);
    const plan = await hive(["build", "--dry-run"], { cwd: dir, env: env() });
    expect(plan.code).toBe(1); // t-none cannot be built anywhere
    expect(plan.stdout).toMatch(/t-local\s+│ x86_64-linux\s+│ here\s+│ [1-9]/);
    expect(plan.stdout).toMatch(/t-arm\s+│ aarch64-linux\s+│ on ssh:\/\/builder/);
    expect(plan.stdout).toMatch(/t-none\s+│ riscv64-linux\s+│ nowhere/);
    expect(await readFile(join(dir, "builds"), "utf8")).toBe(""); // nothing was built
    // A cross-compiled node's derivations are this machine's: it builds here, for aarch64-linux.
    expect(plan.stdout).toMatch(/t-cross\s+│ x86_64-linux\s+│ here/);
    const cross = await hive(["build", "--on", "t-cross"], { cwd: dir, env: env() });
    expect(cross.code, cross.stderr).toBe(0);
    const crossSystem = systemOf(cross.stdout, "t-cross");
    expect(await readFile(join(crossSystem, "sw", "share", "hello", "system"), "utf8")).toBe("aarch64-linux\n");
    const targeted = await hive(["apply", "--dry-run", "--on", "t-target"], { cwd: dir, env: env() });
    expect(targeted.stdout).toMatch(/t-target\s+│ x86_64-linux\s+│ on the target/);
  });

  it("builds here, on the builder and on the target; shared derivations once; failures fail only their nodes", async () => {
    const seed = `run-${Date.now()}`;
    const dir = await writeHive(seed);
    const result = await hive(["apply", "--on", "t-*,!t-cross"], { cwd: dir, env: env() });
    expect(result.code, result.stderr).toBe(1);

    // Nothing can build t-none: it fails first, with the ways out; the rest go on.
    expect(result.stdout).toMatch(
      /^t-none: failed at build: node t-none: build: nothing can build it: its system is riscv64-linux/m,
    );
    expect(result.stderr + result.stdout).not.toMatch(/t-none \| (connect|push)/);
    // t-broken's build fails it alone, with its log's last lines and where the whole log is.
    expect(result.stdout).toMatch(
      /^t-broken: failed at build: building \/nix\/store\/\S+-nixos-system-t-broken\S*\.drv failed:/m,
    );
    expect(result.stdout).toMatch(new RegExp(`broken-build-${seed}`));
    const log = /^\s+the whole log: (\S+\/t-broken\.log)$/m.exec(result.stdout)?.[1] ?? "";
    expect(await readFile(log, "utf8")).toMatch(new RegExp(`nixos-system-t-broken\\S*> broken-build-${seed}`));

    for (const node of ["t-local", "t-local2", "t-arm", "t-target"]) {
      const system = systemOf(result.stdout, node);
      expect(system, `${node}:\n${result.stdout}`).toMatch(/^\/nix\/store\//);
      expect(await fleet().host(node).currentSystem()).toBe(system);
    }
    // The shared derivation was built once for both nodes.
    expect((await readFile(join(dir, "builds"), "utf8")).trim().split("\n")).toEqual(["built"]);
    // t-arm (aarch64-linux) was built on the builder, which this machine cannot.
    const arm = systemOf(result.stdout, "t-arm");
    expect(fleet().host("builder").hasStorePath(arm)).toBe(true);
    expect(result.stderr).toMatch(/t-arm \| build: \d+ of \d+ derivations built \(building \S+ on ssh:\/\/builder\)/);
    // t-target was built in its own store: this machine never had it.
    const target = systemOf(result.stdout, "t-target");
    expect(await validHere(target)).toBe(false);
    expect(result.stderr).toMatch(/^t-target \| build \(on the target\)$/m);
  });

  it("reaches a builder it has not met with hive's host key policy (accept-new), as it would a target", async () => {
    const dir = await writeHive(`unmet-${Date.now()}`);
    const known = join(dir, "known_hosts_without_builder");
    const builderLine = fleet().host("builder").knownHostsLine();
    await writeFile(
      known,
      (await readFile(fleet().knownHostsPath, "utf8"))
        .split("\n")
        .filter((l) => l !== builderLine)
        .join("\n"),
    );
    const config = join(dir, "ssh_config");
    await writeFile(
      config,
      (await readFile(fleet().sshConfigPath, "utf8"))
        .replaceAll(fleet().knownHostsPath, known)
        .replace(/^\s*StrictHostKeyChecking yes\n/gm, ""),
    );
    const result = await hive(["build", "--on", "t-arm"], { cwd: dir, env: { ...env(), SSH_CONFIG_FILE: config } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await readFile(known, "utf8")).toContain(builderLine.split(" ").slice(1).join(" "));
  });

  it("keeps GC roots that garbage collection respects with --keep-result, for builder-built systems too", async () => {
    const dir = await writeHive(`roots-${Date.now()}`);
    const built = await hive(["build", "--on", "t-local,t-arm", "--keep-result"], { cwd: dir, env: env() });
    expect(built.code, built.stderr).toBe(0);
    const local = systemOf(built.stdout, "t-local");
    const arm = systemOf(built.stdout, "t-arm");
    // A real collection would race the other test files' unrooted builds on this shared store;
    // what it would delete, and deleting these paths outright, show the roots hold.
    const dead = await run("nix-store", ["--gc", "--print-dead"], { env: { ...process.env, NIX_CONFIG: "" } });
    expect(dead.code, dead.stderr).toBe(0);
    for (const system of [local, arm]) {
      expect(dead.stdout).not.toContain(system);
      const remove = await run("nix-store", ["--delete", system], { env: { ...process.env, NIX_CONFIG: "" } });
      expect(remove.stderr).toMatch(/still alive/);
      expect(await validHere(system)).toBe(true);
    }
  });
});
