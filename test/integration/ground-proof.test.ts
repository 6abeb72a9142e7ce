import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { nixBuild, nixCopy, ssh } from "../support/run.js";
import { systemExpression } from "../support/systems.js";

// The ground every later test stands on: real nix builds a system, `nix copy` pushes it over
// real ssh through the generated ssh_config, activation changes the host, reboots boot it.
describe("a real fleet: build, copy, activate, reboot", () => {
  const fleet = useFleet({ hosts: 4 });

  it("deploys three hosts, each to its own store, and boots into the profile", async () => {
    const clientKey = await fleet().clientPublicKey();
    const targets = ["h1", "h2", "h3"];
    const systems = new Map<string, string>();
    for (const name of targets) {
      const system = await nixBuild(
        systemExpression({
          hostName: name,
          rootKeys: [clientKey, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyFor${name} extra@${name}`],
          extra: `system.activationScripts.greet = "echo hello-${name} > /run/greeting";`,
        }),
      );
      systems.set(name, system);
      const copy = await nixCopy(fleet(), name, system);
      expect(copy.code, copy.stderr).toBe(0);
    }

    for (const name of targets) {
      const system = systems.get(name) ?? "";
      const host = fleet().host(name);
      // Each store holds its own system only; the untouched host holds none.
      for (const [other, otherSystem] of systems) {
        expect(host.hasStorePath(otherSystem), `${name} has ${other}'s system`).toBe(other === name);
      }
      expect(fleet().host("h4").hasStorePath(system)).toBe(false);

      const activation = await ssh(
        fleet(),
        name,
        `nix-env --profile /nix/var/nix/profiles/system --set ${system} && ${system}/bin/switch-to-configuration switch`,
      );
      expect(activation.code, activation.stderr).toBe(0);
      expect(await host.currentSystem()).toBe(system);
      expect(await host.profileSystem()).toBe(system);
      expect(await host.authorizedKeys()).toContain(`FakeKeyFor${name}`);
      const greeting = await ssh(fleet(), name, "cat /run/greeting");
      expect(greeting.stdout.trim()).toBe(`hello-${name}`);
    }
    expect(await fleet().host("h4").currentSystem()).toBeUndefined();

    const host = fleet().host("h2");
    const bootBefore = await host.bootId();
    const seenBefore = await ssh(fleet(), "h2", "cat /proc/sys/kernel/random/boot_id");
    expect(seenBefore.stdout.trim()).toBe(bootBefore);
    await fleet().reboot("h2");
    const seenAfter = await ssh(
      fleet(),
      "h2",
      "cat /proc/sys/kernel/random/boot_id; readlink /run/current-system; cat /run/greeting",
    );
    expect(seenAfter.code, seenAfter.stderr).toBe(0);
    const [bootAfter, current, greeting] = seenAfter.stdout.trim().split("\n");
    expect(bootAfter).not.toBe(bootBefore);
    expect(current).toBe(systems.get("h2"));
    expect(greeting).toBe("hello-h2");
  });
});
