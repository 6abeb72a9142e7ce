import { spawn } from "node:child_process";
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { miniNixpkgsPath } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { hive } from "../support/hive-fixtures.js";
import { hiveBin } from "../support/paths.js";
import { ssh } from "../support/run.js";

const hiveDirs: string[] = [];
afterAll(async () => {
  await Promise.all(hiveDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A hive for the fleet: h1..h5, where `extra` adds per-node module text. */
async function writeHive(extra: Record<string, string> = {}, meta = ""): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hive-apply-"));
  hiveDirs.push(dir);
  const node = (name: string, base: string) => `  ${name} = { lib, pkgs, ... }: { ${base} ${extra[name] ?? ""} };`;
  await writeFile(
    join(dir, "hive.nix"),
    `{
  meta = { nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; }; ${meta} };
  defaults = { name, pkgs, ... }: {
    networking.hostName = name;
    environment.systemPackages = [ pkgs.hello ];
    system.activationScripts.mark = "echo \${name} > /run/activated-as";
  };
${node("h1", 'deployment.tags = [ "web" ];')}
${node("h2", 'deployment.tags = [ "web" ]; deployment.targetUser = "deploy";')}
${node("h3", 'deployment.tags = [ "db" ];')}
${node("h4", 'deployment.tags = [ "db" ];')}
${node("h5", 'deployment.tags = [ "edge" ]; deployment.targetHost = "h5-link";')}
}
`,
  );
  return dir;
}

describe("hive apply on a real fleet", () => {
  const fleet = useFleet({ hosts: 5 });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });
  const apply = async (dir: string, args: string[]) => hive(["apply", ...args], { cwd: dir, env: env() });
  const systemOf = (stdout: string, node: string) =>
    new RegExp(`^${node}: succeeded \\((/nix/store/[^)]+)\\)$`, "m").exec(stdout)?.[1];

  it("switches only the selected nodes, through sudo where the user is not root", async () => {
    const dir = await writeHive();
    const result = await apply(dir, ["--on", "@web"]);
    expect(result.code, result.stderr).toBe(0);
    for (const node of ["h1", "h2"]) {
      const system = systemOf(result.stdout, node);
      expect(system).toMatch(/-nixos-system-h[12]-/);
      expect(await fleet().host(node).currentSystem()).toBe(system);
      expect(await fleet().host(node).profileSystem()).toBe(system);
      expect((await ssh(fleet(), node, "cat /run/activated-as")).stdout.trim()).toBe(node);
    }
    for (const node of ["h3", "h4", "h5"]) expect(await fleet().host(node).currentSystem()).toBeUndefined();

    const again = await apply(dir, ["--on", "@web"]);
    expect(again.stdout).toMatch(/^h1: unchanged/m);
    expect(again.stdout).toMatch(/^h2: unchanged/m);
    const forced = await apply(dir, ["--on", "h1", "--reactivate"]);
    expect(forced.stdout).toMatch(/^h1: succeeded/m);
  });

  it("does each goal's part and no more", async () => {
    const dir = await writeHive({ h3: 'environment.etc."goal".text = "v1";' });
    const h3 = fleet().host("h3");
    const built = await apply(dir, ["build", "--on", "h3"]);
    const system = systemOf(built.stdout, "h3");
    expect(system).toBeDefined();
    expect(h3.hasStorePath(system ?? "")).toBe(false);

    await apply(dir, ["push", "--on", "h3"]);
    expect(h3.hasStorePath(system ?? "")).toBe(true);
    expect(await h3.currentSystem()).toBeUndefined();

    const dry = await apply(dir, ["dry-activate", "--on", "h3"]);
    expect(dry.stderr).toMatch(/^h3 \| would activate/m);
    expect(await h3.currentSystem()).toBeUndefined();

    await apply(dir, ["test", "--on", "h3"]);
    expect(await h3.currentSystem()).toBe(system);
    expect(await h3.profileSystem()).toBeUndefined();

    const next = await writeHive({ h3: 'environment.etc."goal".text = "v2";' });
    const boot = await apply(next, ["boot", "--on", "h3"]);
    const bootSystem = systemOf(boot.stdout, "h3");
    expect(await h3.profileSystem()).toBe(bootSystem);
    expect(await h3.currentSystem()).toBe(system);
    await fleet().reboot("h3");
    expect(await h3.currentSystem()).toBe(bootSystem);
  });

  it("restores the previous generation when activation fails, and fails that node alone", async () => {
    const good = await writeHive();
    await apply(good, ["--on", "h4"]);
    const before = await fleet().host("h4").profileSystem();
    const bad = await writeHive({ h4: 'system.activationScripts.broken = "echo broken-on-purpose >&2; exit 4";' });
    const result = await apply(bad, ["--on", "db"]);
    expect(result.code).toBe(2); // "db" is a tag here, not a node
    const run = await apply(bad, ["--on", "@db"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^h3: (succeeded|unchanged)/m);
    expect(run.stdout).toMatch(
      /^h4: failed at activate: node h4: activate: switch-to-configuration switch exited with 4; rolled back to generation \d+ \(\/nix\/store\/[^)]+\): the host runs and boots \/nix\/store\/\S+ again:/m,
    );
    expect(run.stdout).toMatch(/broken-on-purpose/);
    // Both the profile and the running system are the previous one again.
    expect(await fleet().host("h4").profileSystem()).toBe(before);
    expect(await fleet().host("h4").currentSystem()).toBe(before);
  });

  it("fails a node whose build fails, and one whose host is down, and deploys the rest", async () => {
    const dir = await writeHive({
      h2: 'system.extraSystemBuilderCmds = "echo cannot-build >&2; exit 1";',
      h3: 'environment.etc."x".text = "3";',
    });
    await fleet().host("h4").stopSshd();
    try {
      const result = await apply(dir, ["--on", "h1,h2,h3,h4"]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^h1: (succeeded|unchanged)/m);
      expect(result.stdout).toMatch(/^h2: failed at build: building \/nix\/store\/.*\.drv failed:/m);
      expect(result.stdout).toMatch(/cannot-build/);
      expect(result.stdout).toMatch(/^h3: succeeded/m);
      expect(result.stdout).toMatch(/^h4: failed at connect: root@h4 \(127\.0\.0\.1\):\d+: cannot connect/m);
    } finally {
      await fleet().startSshd("h4");
    }
  });

  it("collects an activation whose connection was cut while it ran", async () => {
    const link = await fleet().link("h5");
    const dir = await writeHive({
      h5: 'system.activationScripts.slow = "touch /run/activation-started; sleep 3; echo slow-done > /run/slow";',
    });
    const child = spawn(process.execPath, [hiveBin, "apply", "--on", "h5"], {
      cwd: dir,
      env: { ...process.env, ...env(), NIX_PATH: "" },
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const h5 = fleet().host("h5");
    const before = link.connectionsAccepted;
    for (let i = 0; (await h5.run(["test", "-e", "/run/activation-started"])).code !== 0; i++) {
      if (i > 400) throw new Error("the activation never started");
      await sleep(50);
    }
    link.cut();
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/^h5: succeeded/m);
    expect((await ssh(fleet(), "h5", "cat /run/slow")).stdout.trim()).toBe("slow-done");
    // hive had to connect again to collect the result.
    expect(link.connectionsAccepted - before).toBeGreaterThan(0);
  });

  it("refuses to replace a profile it does not know unless told to", async () => {
    // Someone else set h1's profile to a system this machine has never seen.
    const foreign = await ssh(
      fleet(),
      "h1",
      "p=$(echo foreign-$$ > /tmp/hive-foreign-$$ && nix-store --add /tmp/hive-foreign-$$) && rm /tmp/hive-foreign-$$ && nix-env -p /nix/var/nix/profiles/system --set $p && echo $p",
    );
    expect(foreign.code, foreign.stderr).toBe(0);
    const dir = await writeHive({
      h1: `deployment.replaceUnknownProfiles = false; environment.etc."foreign-test".text = "x";`,
    });
    const refused = await apply(dir, ["--on", "h1"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /^h1: failed at activate: node h1: activate: the host runs a profile hive does not know/m,
    );
    expect(await fleet().host("h1").profileSystem()).toBe(foreign.stdout.trim());
    const forced = await apply(dir, ["--on", "h1", "--force-replace-unknown-profiles", "--reactivate"]);
    expect(forced.code, forced.stdout).toBe(0);
    expect(await fleet().host("h1").profileSystem()).toBe(systemOf(forced.stdout, "h1"));
  });

  it("keeps each built system as a GC root beside the hive with --keep-result", async () => {
    const dir = await writeHive();
    const result = await apply(dir, ["build", "--on", "h1,h3", "--keep-result"]);
    expect(result.code, result.stderr).toBe(0);
    for (const node of ["h1", "h3"]) {
      const link = join(dir, ".gcroots", `node-${node}`);
      const system = systemOf(result.stdout, node);
      expect(await realpath(link)).toBe(system);
      const { ok } = await import("../support/run.js");
      expect(await ok("nix-store", ["--gc", "--print-roots"])).toContain(`${link} -> ${system ?? ""}`);
    }
  });

  it("refuses to deploy everything when meta.allowApplyAll is false", async () => {
    const dir = await writeHive({}, "allowApplyAll = false;");
    const result = await apply(dir, []);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/meta\.allowApplyAll = false: name the nodes to deploy with --on/);
  });
});

describe("hive apply --reboot", () => {
  const fleet = useFleet({ hosts: 2 });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  it("reboots into the new system, waits for the new boot, and uploads keys again", async () => {
    const dir = await writeHive({ h1: 'deployment.keys.k = { text = "key-after-reboot"; };' });
    const bootBefore = await fleet().host("h1").bootId();
    const result = await hive(["apply", "boot", "--on", "h1", "--reboot"], { cwd: dir, env: env() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^h1 \| reboot$/m);
    const system = /^h1: succeeded \((\S+)\)$/m.exec(result.stdout)?.[1];
    expect(await fleet().host("h1").bootId()).not.toBe(bootBefore);
    expect(await fleet().host("h1").currentSystem()).toBe(system);
    expect((await ssh(fleet(), "h1", "cat /run/keys/k")).stdout).toBe("key-after-reboot");
  });

  it("gives up after --reboot-timeout when the host does not come back", async () => {
    // A system without a reboot command: the host never reboots.
    const dir = await writeHive({ h2: "testbed.tools = lib.mkForce [ ];" });
    const result = await hive(["apply", "--on", "h2", "--reboot", "--reboot-timeout", "3"], { cwd: dir, env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^h2: failed at reboot: node h2: reboot: no new boot id after 3 s/m);
  });
});

describe("hive apply-local", () => {
  const fleet = useFleet({ hosts: 1 });

  it("builds and switches the machine it runs on (inside a testbed host), when the node allows it", async () => {
    const dir = await writeHive({ h1: "deployment.allowLocalDeployment = true;" });
    const cli = `NIX_CONFIG='substituters =' NIX_PATH= ${process.execPath} ${hiveBin}`;
    const result = await ssh(fleet(), "h1", `cd ${dir} && ${cli} apply-local --node h1`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const system = /^h1: succeeded \((\S+)\)$/m.exec(result.stdout)?.[1];
    expect(system).toMatch(/-nixos-system-h1-/);
    expect(await fleet().host("h1").currentSystem()).toBe(system);
    // Built in the host's own store: the deployer's store never saw it.
    expect(
      fleet()
        .host("h1")
        .hasStorePath(system ?? ""),
    ).toBe(true);

    const refused = await ssh(fleet(), "h1", `cd ${dir} && ${cli} apply-local --node h2`);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/node h2 does not allow local deployment/);
    const unknown = await ssh(fleet(), "h1", `cd ${dir} && ${cli} apply-local`);
    expect(unknown.stderr).toMatch(/no node named "\S+" in the hive/);
  });
});

describe("hive apply on a terminal", () => {
  const fleet = useFleet({ hosts: 2 });

  it("shows one live line per node, redrawn in place, then the summary", async () => {
    const dir = await writeHive();
    const command = `cd ${dir} && SSH_CONFIG_FILE=${fleet().sshConfigPath} SSH_AUTH_SOCK= NIX_PATH= NO_COLOR=1 NIX_CONFIG='substituters =' ${process.execPath} ${hiveBin} apply --on h1,h2`;
    // `script` gives hive a pseudo-terminal, as a person's shell would.
    const { ok } = await import("../support/run.js");
    const screen = await ok("script", ["-qec", command, "/dev/null"]);
    const ESC = "\u001b";
    expect(screen).toContain(`${ESC}[3A`); // moved back up over its header and two lines to redraw them
    const lines = screen.split(`\r${ESC}[2K`);
    expect(lines.some((l) => /^✓ h1\s+\d+\.\ds {2}succeeded/.test(l))).toBe(true);
    expect(lines.some((l) => /^✓ h2\s+\d+\.\ds {2}succeeded/.test(l))).toBe(true);
    expect(screen).toMatch(/^h1: succeeded \(/m);
    expect(screen).not.toMatch(/h1 \| build/); // no plain lines on a terminal
  });
});

describe("Ctrl-C during hive apply", () => {
  const fleet = useFleet({ hosts: 2 });

  it("starts nothing new, lets the running activation finish, and prints the summary", async () => {
    const slow =
      'system.activationScripts.slow = "touch /run/activation-started; sleep 2; echo done > /run/slow-done";';
    const dir = await writeHive({ h1: slow, h2: slow });
    const env = {
      ...process.env,
      SSH_CONFIG_FILE: fleet().sshConfigPath,
      SSH_AUTH_SOCK: "",
      NIX_CONFIG: "substituters =",
      NIX_PATH: "",
    };
    // One activation at a time: when h1's runs, h2's waits.
    const child = spawn(process.execPath, [hiveBin, "apply", "--on", "h1,h2", "-p", "1"], { cwd: dir, env });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const started = async () =>
      (await fleet().host("h1").run(["test", "-e", "/run/activation-started"])).code === 0 ||
      (await fleet().host("h2").run(["test", "-e", "/run/activation-started"])).code === 0;
    for (let i = 0; !(await started()); i++) {
      if (i > 400) throw new Error("no activation started");
      await sleep(50);
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    const lines = stdout.split("\n").filter((l) => /^h[12]: /.test(l));
    expect(lines).toHaveLength(2);
    expect(lines.filter((l) => /: succeeded/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /: skipped: interrupted before /.test(l))).toHaveLength(1);
  });
});
