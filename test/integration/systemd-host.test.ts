import { describe, expect, it } from "vitest";
import { systemOf } from "../faults/fault-kit.js";
import { useSystemdHost } from "../support/systemd-host.js";

/**
 * Deploys to a host whose PID 1 is a real systemd: activation goes through systemd-run, in a
 * transient unit whose environment has a PATH that holds nothing, as on NixOS.
 */
describe("a host run by systemd", () => {
  const { onHost, apply } = useSystemdHost("sd1");

  it("is a systemd host whose units get no usable PATH", async () => {
    const pid1 = await onHost(
      "cat /proc/1/comm; systemctl show-environment; test -d /run/systemd/system && echo booted",
    );
    expect(pid1.stdout).toMatch(/^systemd$/m);
    expect(pid1.stdout).toMatch(/^PATH=\/nonexistent\/systemd\/bin$/m);
    expect(pid1.stdout).toMatch(/^booted$/m);
  });

  it("switches through a transient systemd unit, and restores the previous system when one fails", async () => {
    const good = await apply(
      'environment.etc.v.text = "systemd-1"; system.activationScripts.env = "env > /run/activation-env";',
    );
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const system = systemOf(good.stdout, "sd1");
    expect((await onHost("readlink -f /run/current-system")).stdout.trim()).toBe(system);
    const journal = await onHost("journalctl --no-pager -o cat | grep -c 'hive-activate-' || true");
    expect(Number(journal.stdout.trim())).toBeGreaterThan(0);
    // The activation ran in a unit (systemd gave it an invocation id), with nixos-rebuild's variables.
    const env = (await onHost("cat /run/activation-env")).stdout;
    expect(env).toMatch(/^INVOCATION_ID=[0-9a-f]{32}$/m);
    expect(env).toMatch(/^NIXOS_INSTALL_BOOTLOADER=$/m);

    const bad = await apply('system.activationScripts.broken = "echo broken-in-unit >&2; exit 6";');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^sd1: failed at activate: .*exited with 6; rolled back to generation \d+/m);
    expect(bad.stdout).toMatch(/broken-in-unit/);
    expect((await onHost("readlink -f /run/current-system")).stdout.trim()).toBe(system);
    expect((await onHost("readlink -f /nix/var/nix/profiles/system")).stdout.trim()).toBe(system);
  });
  it("rolls back a switch after which a unit failed, and blames no unit that had failed before", async () => {
    // A unit that failed before the deploy is not the new system's doing.
    await onHost("systemd-run --quiet --unit=hive-test-old-broken /bin/false; sleep 0.5");
    expect((await onHost("systemctl is-failed hive-test-old-broken")).stdout.trim()).toBe("failed");
    const good = await apply('environment.etc.v.text = "units-1";');
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const system = systemOf(good.stdout, "sd1");

    const breaksUnit = (id: string) =>
      `system.activationScripts.unit = "/usr/bin/systemd-run --quiet --unit=hive-test-${id} /bin/false";`;
    const bad = await apply(breaksUnit("new-broken"));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^sd1: failed at activate: .*health check failed-units/m);
    expect(bad.stdout).toMatch(/units failed since the activation: hive-test-new-broken\.service/);
    expect(bad.stdout).not.toMatch(/units failed since the activation:.*old-broken/);
    expect((await onHost("readlink -f /run/current-system")).stdout.trim()).toBe(system);

    // deployment.checkFailedUnits = false keeps it, as Colmena would.
    const off = await apply(`${breaksUnit("off-broken")} deployment.checkFailedUnits = false;`);
    expect(off.code, off.stdout + off.stderr).toBe(0);
  });
});
