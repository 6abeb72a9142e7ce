import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { SUDO_PASSWORD_USER, SUDO_USER } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { nixBuild, nixCopy, ssh } from "../support/run.js";
import { nixString, systemExpression } from "../support/systems.js";

describe("testbed hosts and their faults", () => {
  const fleet = useFleet({ hosts: [{ name: "a" }, { name: "b" }, { name: "tiny", storeBytes: 24 * 1024 * 1024 }] });

  it("checks host keys through the generated known_hosts", async () => {
    expect((await ssh(fleet(), "a", "true")).code).toBe(0);
    // Give a the host key of b: ssh must refuse, as it would for a changed host.
    const a = fleet().host("a");
    const b = fleet().host("b");
    await writeFile(fleet().knownHostsPath, `${a.knownHostsLine().replace(a.hostKey, b.hostKey)}\n`);
    const refused = await ssh(fleet(), "a", "true");
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    await fleet().writeClientFiles();
    expect((await ssh(fleet(), "a", "true")).code).toBe(0);
  });

  it("gives each host its own /nix, /run and boot id", async () => {
    await ssh(fleet(), "a", "echo only-on-a > /run/probe && mkdir -p /nix/var/probe");
    const onB = await ssh(fleet(), "b", "cat /run/probe; ls /nix/var/probe");
    expect(onB.code).not.toBe(0);
    const ids = await Promise.all(["a", "b"].map((h) => ssh(fleet(), h, "cat /proc/sys/kernel/random/boot_id")));
    expect(ids[0]?.stdout).not.toBe(ids[1]?.stdout);
    expect(ids[0]?.stdout.trim()).toBe(await fleet().host("a").bootId());
  });

  it("stops and starts sshd", async () => {
    const host = fleet().host("b");
    await host.stopSshd();
    const refused = await ssh(fleet(), "b", "true");
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Connection refused/);
    await fleet().startSshd("b");
    expect((await ssh(fleet(), "b", "true")).code).toBe(0);
  });

  it("reboots with a new boot id and an empty /run, killing what ran", async () => {
    const host = fleet().host("b");
    await ssh(fleet(), "b", "touch /run/before-reboot; (setsid sleep 1000 >/dev/null 2>&1 &)");
    const before = await host.bootId();
    const processesBefore = await host.processes();
    await fleet().reboot("b");
    expect(await host.bootId()).not.toBe(before);
    const after = await ssh(fleet(), "b", "ls /run; cat /proc/sys/kernel/random/boot_id");
    expect(after.stdout).not.toContain("before-reboot");
    expect(after.stdout).toContain(await host.bootId());
    const survivors = (await host.processes()).filter((pid) => processesBefore.includes(pid));
    expect(survivors).toEqual([]);
    // No system profile yet: the host boots with no current system, as a fresh install would not.
    expect(await host.currentSystem()).toBeUndefined();
  });

  it("cuts the power at once: a process born during the cut dies with the rest", async () => {
    const host = fleet().host("b");
    // A host busy starting processes (as an activation is): each lives on until killed.
    await ssh(
      fleet(),
      "b",
      "setsid sh -c 'i=0; while [ $i -lt 3000 ]; do sleep 1000 & i=$((i + 1)); done; wait' >/dev/null 2>&1 </dev/null &",
    );
    for (let i = 0; i < 200 && (await host.processes()).length < 30; i++) await sleep(10);
    await host.cutPower();
    expect(await host.processes()).toEqual([]);
    await fleet().startSshd("b");
    expect((await ssh(fleet(), "b", "true")).code).toBe(0);
  });

  it("revokes and changes the authorized client key", async () => {
    const host = fleet().host("a");
    const original = await host.authorizedKeys();
    await host.setAuthorizedKeys([]);
    const denied = await ssh(fleet(), "a", "true");
    expect(denied.code).toBe(255);
    expect(denied.stderr).toMatch(/Permission denied/);
    await host.setAuthorizedKeys([
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKeyOth other",
    ]);
    expect((await ssh(fleet(), "a", "true")).code).toBe(255);
    await host.setAuthorizedKeys([original]);
    expect((await ssh(fleet(), "a", "true")).code).toBe(0);
  });

  it("lets a deployed system lock the deployer out, as NixOS does", async () => {
    const system = await nixBuild(
      systemExpression({
        hostName: "a",
        rootKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINotTheDeployerNotTheDeployerNotTheDeployerNo x"],
      }),
    );
    expect((await nixCopy(fleet(), "a", system)).code).toBe(0);
    const switched = await ssh(fleet(), "a", `${system}/bin/switch-to-configuration test`);
    expect(switched.code, switched.stderr).toBe(0);
    expect((await ssh(fleet(), "a", "true")).stderr).toMatch(/Permission denied/);
    await fleet()
      .host("a")
      .setAuthorizedKeys([await fleet().clientPublicKey()]);
  });

  it("fills a small /nix", async () => {
    const big = await nixBuild(
      systemExpression({
        hostName: "tiny",
        rootKeys: [],
        extra: `testbed.payload = { paths = 4; bytes = 8 * 1024 * 1024; seed = ${nixString(String(Date.now()))}; };`,
      }),
    );
    // The store works until it is full.
    const small = await nixBuild(systemExpression({ hostName: "tiny", rootKeys: [] }));
    expect((await nixCopy(fleet(), "tiny", small)).code).toBe(0);
    const copy = await nixCopy(fleet(), "tiny", big);
    expect(copy.code).not.toBe(0);
    expect(copy.stderr).toMatch(/No space left on device|disk is full/);
    const df = await ssh(fleet(), "tiny", "df -k /nix | tail -1");
    expect(df.stdout).toMatch(/tmpfs\s+24576\b/);
  });

  it("has a login user with passwordless sudo and one whose sudo asks for a password", async () => {
    const passwordless = await ssh(fleet(), "a", "id -un; sudo -n id -u", { user: SUDO_USER.name });
    expect(passwordless.stdout.split("\n").slice(0, 2)).toEqual([SUDO_USER.name, "0"]);

    const refused = await ssh(fleet(), "a", "sudo -n id -u", { user: SUDO_PASSWORD_USER.name });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/password is required/);
    const withPassword = await ssh(fleet(), "a", "sudo -S -p '' id -u", {
      user: SUDO_PASSWORD_USER.name,
      input: `${SUDO_PASSWORD_USER.password}\n`,
    });
    expect(withPassword.stdout.trim()).toBe("0");
    const wrongPassword = await ssh(fleet(), "a", "sudo -S -p '' id -u", {
      user: SUDO_PASSWORD_USER.name,
      input: "wrong\n",
    });
    expect(wrongPassword.code).not.toBe(0);
  });
});
