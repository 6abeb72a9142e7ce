import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { flakeFixture, flakeToplevel, hive } from "../support/hive-fixtures.js";
import { run } from "../support/run.js";

/**
 * `hive rebuild`: nixos-rebuild's command line on hive's pipeline, on a nixosConfigurations flake.
 * With --build-host elsewhere, the system is built there and never lands in this machine's store.
 */
describe("hive rebuild", () => {
  const fleet = useFleet({ hosts: [{ name: "n1" }, { name: "n2" }, { name: "n3" }] });
  const env = () => ({ SSH_CONFIG_FILE: fleet().sshConfigPath, SSH_AUTH_SOCK: "", NIX_CONFIG: "substituters =" });

  /** The fixture with systems no earlier test built (so this machine's store cannot hold them already). */
  async function freshFlake(): Promise<string> {
    const dir = await flakeFixture("nixos-configurations");
    const flake = join(dir, "flake.nix");
    const text = await readFile(flake, "utf8");
    await writeFile(flake, text.replace("> /run/built-as", `> /run/built-as # ${randomUUID()}`));
    return dir;
  }

  const toplevel = flakeToplevel;
  const validHere = async (path: string) => (await run("nix-store", ["--check-validity", path])).code === 0;
  const validOn = async (host: string, path: string) =>
    (await fleet().host(host).run(["nix-store", "--check-validity", path])).code === 0;

  it("builds on --build-host, copies from there to --target-host and switches it; this store never holds it", async () => {
    const flake = await freshFlake();
    const system = await toplevel(flake, "n1");
    // n2 cannot reach n1 itself (no key for it): the copy goes through this machine, streamed.
    const result = await hive(
      ["rebuild", "switch", "--flake", `${flake}#n1`, "--target-host", "root@n1", "--build-host", "root@n2", "-v"],
      { env: env() },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^n1: succeeded/m);
    expect(result.stdout + result.stderr).toMatch(/copied from root@n2:\d+ through this machine/);
    expect(await fleet().host("n1").currentSystem()).toBe(system);
    expect((await fleet().host("n1").run(["cat", "/run/built-as"])).stdout.trim()).toBe("n1");
    expect(await validOn("n2", system)).toBe(true);
    expect(await validHere(system)).toBe(false);

    // Given a way in (the build host's own ssh_config), the build host copies to the target itself.
    const { clientKeyPath, knownHostsPath } = fleet();
    await fleet()
      .host("n2")
      .run([
        "sh",
        "-c",
        'printf "%s\\n" "$@" > /etc/ssh/ssh_config',
        "sh",
        "Host 127.0.0.1",
        `  IdentityFile ${clientKeyPath}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${knownHostsPath}`,
      ]);
    const system3 = await toplevel(flake, "n3");
    const direct = await hive(
      ["rebuild", "boot", "--flake", `${flake}#n3`, "--target-host", "root@n3", "--build-host", "root@n2", "-v"],
      { env: env() },
    );
    expect(direct.code, direct.stdout + direct.stderr).toBe(0);
    expect(direct.stdout + direct.stderr).toMatch(/copied from root@n2:\d+ directly/);
    // boot: the profile holds the new system, the running one is untouched.
    const profile = await fleet().host("n3").run(["readlink", "-f", "/nix/var/nix/profiles/system"]);
    expect(profile.stdout.trim()).toBe(system3);
    expect(await fleet().host("n3").currentSystem()).toBeUndefined();
    expect(await validOn("n3", system3)).toBe(true);
    expect(await validHere(system3)).toBe(false);
  });

  it("builds here with --build-host localhost, and on the target when the build host is the target", async () => {
    const flake = await freshFlake();
    const system = await toplevel(flake, "n2");
    const here = await hive(
      ["rebuild", "test", "--flake", `${flake}#n2`, "--target-host", "root@n2", "--build-host", "localhost"],
      { env: env() },
    );
    expect(here.code, here.stdout + here.stderr).toBe(0);
    expect(await validHere(system)).toBe(true);
    expect(await fleet().host("n2").currentSystem()).toBe(system);

    const system1 = await toplevel(flake, "n1");
    const onTarget = await hive(
      ["rebuild", "switch", "--flake", `${flake}#n1`, "--target-host", "root@n1", "--build-host", "root@n1", "--fast"],
      { env: env() },
    );
    expect(onTarget.code, onTarget.stdout + onTarget.stderr).toBe(0);
    expect(await fleet().host("n1").currentSystem()).toBe(system1);
    expect(await validHere(system1)).toBe(false);
  });

  it("says what is wrong with its command line", async () => {
    const flake = await freshFlake();
    const bad = await hive(["rebuild", "switch", "--flake", `${flake}#n1`, "--target-host", "root@"], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--target-host takes \[USER@\]HOST/);
    const withOn = await hive(["rebuild", "switch", "--flake", `${flake}#n1`, "--on", "n2"], { env: env() });
    expect(withOn.code).toBe(2);
    expect(withOn.stderr).toMatch(/leave out --on/);
    const unknown = await hive(["rebuild", "switch", "--flake", `${flake}#n9`], { env: env() });
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toMatch(/the flake has no node "n9"/);
  });

  it("fails the node naming the build host when it cannot be reached, and leaves the target alone", async () => {
    const flake = await freshFlake();
    await fleet().host("n3").stopSshd();
    try {
      const result = await hive(
        ["rebuild", "switch", "--flake", `${flake}#n2`, "--target-host", "root@n2", "--build-host", "root@n3"],
        { env: env() },
      );
      expect(result.code, result.stdout + result.stderr).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/n2: failed at build.*root@n3/s);
    } finally {
      await fleet().startSshd("n3");
    }
    expect(await fleet().host("n2").currentSystem()).not.toBe(await toplevel(flake, "n2"));
  });
});
