import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { ssh } from "../support/run.js";
import {
  expectInvariants,
  lastRecord,
  rootKeys,
  runHive,
  STRANGER_KEY,
  systemOf,
  writeHive,
} from "../faults/fault-kit.js";

describe("magic rollback", () => {
  const fleet = useFleet({ hosts: [{ name: "m1" }, { name: "m2" }] });

  /** The host authorizes the deployer's key through its own configuration, as a NixOS host does. */
  async function goodSystem(host: string): Promise<string> {
    const dir = await writeHive({
      [host]: `${rootKeys(await fleet().clientPublicKey())} environment.etc.good.text = "${Date.now()}";`,
    });
    const result = await runHive(fleet(), dir, ["apply", "--on", host]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return systemOf(result.stdout, host) ?? "";
  }

  it("rolls back a switch that locks the deployer out: the host restores itself, the old key works", async () => {
    const before = await goodSystem("m1");
    const lockout = await writeHive({ m1: rootKeys(STRANGER_KEY) });
    const started = Date.now();
    const result = await runHive(fleet(), lockout, ["apply", "--on", "m1", "--confirm-timeout", "5"]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /^m1: failed at activate: .*succeeded, but hive could not get back in to confirm it within 5 s \(magic rollback; .*\); rolled back/m,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    await expectInvariants(fleet(), result, { m1: { before, wanted: undefined } });
    expect(await lastRecord(fleet(), "m1")).toMatchObject({ outcome: "rolled-back" });
    // The deployer's key works again, and a good configuration goes through.
    expect((await ssh(fleet(), "m1", "true")).code).toBe(0);
    await goodSystem("m1");
  });

  it("with --no-magic-rollback the same switch really locks the deployer out (the test is real)", async () => {
    await goodSystem("m2");
    const lockout = await writeHive({ m2: rootKeys(STRANGER_KEY) });
    const result = await runHive(fleet(), lockout, ["apply", "--on", "m2", "--no-magic-rollback"]);
    try {
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect((await ssh(fleet(), "m2", "true")).code).not.toBe(0);
    } finally {
      await fleet()
        .host("m2")
        .setAuthorizedKeys([await fleet().clientPublicKey()]);
    }
  });
});
