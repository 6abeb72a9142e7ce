import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import {
  activationStarted,
  expectInvariants,
  lastRecord,
  runHive,
  slowActivation,
  startHive,
  systemOf,
  writeHive,
} from "./fault-kit.js";

describe("two deploys to one host", () => {
  const fleet = useFleet({ hosts: [{ name: "l1" }, { name: "l2" }, { name: "l3" }] });

  it("lets one deploy through; the other fails at once, naming the holder, and changes nothing", async () => {
    const a = await writeHive({ l1: slowActivation(4, "lock-a") });
    const b = await writeHive({ l1: 'environment.etc.b.text = "b";' });
    const first = startHive(fleet(), a, ["apply", "--on", "l1"]);
    await activationStarted(fleet(), "l1", "lock-a");
    const second = await runHive(fleet(), b, ["apply", "--on", "l1"]);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(
      /^l1: failed at connect: node l1: connect: another deploy holds the host's lock: \S+ on \S+ \(run [0-9a-f-]+, since \d{4}-/m,
    );
    expect(second.stdout).toMatch(/hint: hive changed nothing on this host/);
    const code = await first.exited;
    const result = { code, stdout: first.stdout(), stderr: first.stderr() };
    expect(code, result.stdout + result.stderr).toBe(0);
    const wanted = systemOf(result.stdout, "l1");
    // The host runs and boots A's system, and its history has A's deploy last and no record of B.
    await expectInvariants(fleet(), result, { l1: { before: undefined, wanted } });
    expect(await lastRecord(fleet(), "l1")).toMatchObject({ system: wanted, outcome: "succeeded" });
    // The lock is gone with its holder: the next deploy goes through.
    const third = await runHive(fleet(), b, ["apply", "--on", "l1"]);
    expect(third.code, third.stdout).toBe(0);
  });

  it("takes over a lock whose holder is gone, with a warning naming it", async () => {
    const dir = await writeHive({ l2: 'environment.etc.l2.text = "1";' });
    const stale = JSON.stringify({ user: "alice", from: "laptop", run: "0000-dead", since: "2026-01-01T00:00:00Z" });
    const host = fleet().host("l2");
    const put = await host.run([
      "sh",
      "-c",
      'mkdir -p /nix/var/hive && printf "%s\\npid 999999 %s\\n" "$1" "$(cat /proc/sys/kernel/random/boot_id)" > /nix/var/hive/deploy.lock',
      "sh",
      stale,
    ]);
    expect(put.code, put.stderr).toBe(0);
    const result = await runHive(fleet(), dir, ["apply", "--on", "l2", "--log-format", "plain"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toMatch(/took over the host's deploy lock left by alice on laptop \(run 0000-dead/);
    expect((await host.run(["test", "-e", "/nix/var/hive/deploy.lock"])).code).not.toBe(0);
  });

  it("breaks a live holder's lock with --break-lock, and says so", async () => {
    const a = await writeHive({ l3: slowActivation(3, "break-a") });
    const b = await writeHive({ l3: 'environment.etc.b.text = "b3";' });
    const first = startHive(fleet(), a, ["apply", "--on", "l3"]);
    await activationStarted(fleet(), "l3", "break-a");
    const forced = await runHive(fleet(), b, ["apply", "--on", "l3", "--break-lock", "--log-format", "plain"]);
    expect(forced.stderr).toMatch(/--break-lock: took the host's deploy lock from \S+ on \S+ \(run [0-9a-f-]+/);
    // What the two deploys leave is the operator's doing; hive still ends each run with a summary.
    expect(await first.exited).not.toBeNull();
    expect(first.stdout()).toMatch(/^l3: (succeeded|failed)/m);
  });
});
