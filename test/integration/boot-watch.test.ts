import { describe, expect, it } from "vitest";
import { rootKeys, STRANGER_KEY, systemOf } from "../faults/fault-kit.js";
import { useSystemdHost } from "../support/systemd-host.js";

const WATCH_FILES =
  "ls /etc/systemd/system.control/hive-boot-watch.service /etc/systemd/system.control/multi-user.target.d/hive-boot-watch.conf /nix/var/hive/boot-watch.state 2>/dev/null | wc -l";

/**
 * Magic rollback across `apply boot --reboot`, on a host run by systemd that really reboots
 * (systemd shuts down, the machine boots the system profile again with a new boot id): the watch
 * armed before the reboot is a unit of the next boot, and keeps the new system only if hive
 * confirms it over a connection made after the reboot.
 */
describe("magic rollback across a reboot", () => {
  const { host, clientKey, onHost, apply } = useSystemdHost("sdr");
  const current = async () => (await onHost("readlink -f /run/current-system")).stdout.trim();

  it("keeps a system that boots and lets hive in, and leaves no watch behind", async () => {
    const first = await apply(`${rootKeys(clientKey())} environment.etc.v.text = "boot-1";`);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const reboots = host().reboots;
    const result = await apply(`${rootKeys(clientKey())} environment.etc.v.text = "boot-2";`, [
      "boot",
      "--reboot",
      "-v",
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(host().reboots).toBe(reboots + 1);
    const system = systemOf(result.stdout, "sdr");
    expect(await current()).toBe(system);
    expect(result.stdout + result.stderr).toMatch(/armed the boot watch/);
    expect(result.stdout + result.stderr).toMatch(/confirmed \S+ after the reboot, over a new connection/);
    expect((await onHost(WATCH_FILES)).stdout.trim()).toBe("0");
  }, 300_000);

  it("restores the previous system by itself when the new one keeps hive out after the reboot", async () => {
    const good = await apply(`${rootKeys(clientKey())} environment.etc.v.text = "boot-3";`);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const before = systemOf(good.stdout, "sdr");
    const result = await apply(rootKeys(STRANGER_KEY), ["boot", "--reboot", "--confirm-timeout", "5"]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /^sdr: failed at reboot: .*was not confirmed within 5 s of booting: hive could not get back in .*; the host restored its previous system and runs \/nix\/store\//m,
    );
    // The old system runs (and boots), and the deployer's key works again.
    expect(await current()).toBe(before);
    expect((await onHost("readlink -f /nix/var/nix/profiles/system")).stdout.trim()).toBe(before);
    expect((await onHost("true")).code).toBe(0);
  }, 300_000);

  it("restores the previous system when a health check fails after the reboot", async () => {
    const good = await apply(`${rootKeys(clientKey())} environment.etc.v.text = "boot-4";`);
    const before = systemOf(good.stdout, "sdr");
    const check = `deployment.healthChecks = [ { name = "app"; cmd = [ "sh" "-c" "echo app-is-down; exit 3" ]; retries = 0; } ];`;
    const result = await apply(`${rootKeys(clientKey())} ${check}`, ["boot", "--reboot"]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /^sdr: failed at reboot: .*health check app failed on \S+ after the reboot: exit 3: app-is-down; the host restored its previous system/m,
    );
    expect(await current()).toBe(before);
  }, 300_000);

  it("with --no-magic-rollback the same reboot really locks hive out (the test is real)", async () => {
    const good = await apply(`${rootKeys(clientKey())} environment.etc.v.text = "boot-5";`);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    const result = await apply(rootKeys(STRANGER_KEY), [
      "boot",
      "--reboot",
      "--no-magic-rollback",
      "--reboot-timeout",
      "20",
    ]);
    try {
      expect(result.code).toBe(1);
      expect((await onHost("true")).code).not.toBe(0);
    } finally {
      await host().setAuthorizedKeys([clientKey()]);
    }
  }, 300_000);
});
