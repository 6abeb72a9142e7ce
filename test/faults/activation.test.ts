import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import {
  activationStarted,
  cutPower,
  expectInvariants,
  failingActivation,
  lastRecord,
  runHive,
  slowActivation,
  startHive,
  systemOf,
  writeHive,
  baseline as baselineOf,
} from "./fault-kit.js";

describe("faults during activation", () => {
  const fleet = useFleet({
    hosts: [
      { name: "f1" },
      { name: "f2" },
      { name: "f3" },
      { name: "f4" },
      { name: "f5" },
      { name: "f6" },
      { name: "f7" },
    ],
  });

  const baseline = (host: string) => baselineOf(fleet(), host);

  it("a failed activation restores the running system, and is activated again next time, not called unchanged", async () => {
    const before = await baseline("f1");
    const dir = await writeHive({ f1: failingActivation(4) });
    const first = await runHive(fleet(), dir, ["apply", "--on", "f1"]);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^f1: failed at activate: .*exited with 4; rolled back to generation \d+/m);
    await expectInvariants(fleet(), first, { f1: { before, wanted: undefined } });
    expect(await lastRecord(fleet(), "f1")).toMatchObject({ outcome: "rolled-back" });
    // The same bad system again: activated (and failing) again, never "unchanged".
    const again = await runHive(fleet(), dir, ["apply", "--on", "f1"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^f1: failed at activate: .*exited with 4/m);
    expect(again.stdout).not.toMatch(/unchanged/);
    await expectInvariants(fleet(), again, { f1: { before, wanted: undefined } });
  });

  it("stops an activation that outlives --activation-timeout, restores, records it", async () => {
    const before = await baseline("f2");
    const dir = await writeHive({ f2: slowActivation(60, "timeout") });
    const started = Date.now();
    const result = await runHive(fleet(), dir, ["apply", "--on", "f2", "--activation-timeout", "3"]);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^f2: failed at activate: .*did not finish within 3 s \(--activation-timeout\) and was stopped; rolled back/m,
    );
    await expectInvariants(fleet(), result, { f2: { before, wanted: undefined } });
    expect(await lastRecord(fleet(), "f2")).toMatchObject({ outcome: "rolled-back" });
  });

  it("notices within seconds that a host lost power during activation, and restores it when it is back", async () => {
    const before = await baseline("f3");
    const dir = await writeHive({ f3: slowActivation(60, "power") });
    const run = startHive(fleet(), dir, ["apply", "--on", "f3", "--log-format", "plain"]);
    await activationStarted(fleet(), "f3", "power");
    await cutPower(fleet(), "f3");
    await fleet().startSshd("f3");
    const noticed = Date.now();
    const code = await run.exited;
    expect(Date.now() - noticed).toBeLessThan(20_000);
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code).toBe(1);
    expect(result.stdout).toMatch(/^f3: failed at activate: .*process ended without a result.*; rolled back/m);
    // One warning per change of state, not one per poll.
    expect(result.stderr.match(/lost the connection/g)?.length ?? 0).toBeLessThanOrEqual(1);
    await expectInvariants(fleet(), result, { f3: { before, wanted: undefined } });
  });

  it("gives up on a host that stays dead during activation, saying its state is unknown", async () => {
    await baseline("f4");
    const dir = await writeHive({ f4: slowActivation(60, "dead") });
    const run = startHive(fleet(), dir, ["apply", "--on", "f4", "--activation-timeout", "5", "--log-format", "plain"]);
    await activationStarted(fleet(), "f4", "dead");
    await cutPower(fleet(), "f4");
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.stdout()).toMatch(/^f4: failed at activate: .*has not answered for \d+ s while it activated/m);
    expect(run.stdout()).toMatch(/hint: .*hive status --on f4/);
    expect(run.stderr().match(/lost the connection/g)).toHaveLength(1);
    await fleet().startSshd("f4");
  });

  it("follows an activation whose waiting shell on the host was killed (as a host going down kills it) to its success", async () => {
    const before = await baseline("f7");
    const dir = await writeHive({ f7: slowActivation(3, "waiter") });
    const run = startHive(fleet(), dir, ["apply", "--on", "f7", "--log-format", "plain"]);
    await activationStarted(fleet(), "f7", "waiter");
    // Only the shells that wait for the runner (sh -c SCRIPT hive-start-activation|hive-wait ...).
    let killed = 0;
    for (const pid of await fleet().host("f7").processes()) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
      if (argv[0] === "sh" && /^hive-(start-activation|wait)$/.test(argv[3] ?? "")) {
        process.kill(pid, "SIGKILL");
        killed++;
      }
    }
    expect(killed).toBeGreaterThan(0);
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(0);
    const wanted = systemOf(result.stdout, "f7");
    expect(wanted).not.toBe(before);
    await expectInvariants(fleet(), result, { f7: { before, wanted } });
  });

  it("follows an activation through an sshd restart (as a new system's activation does) to its success", async () => {
    const before = await baseline("f5");
    const dir = await writeHive({ f5: slowActivation(3, "sshd") });
    const run = startHive(fleet(), dir, ["apply", "--on", "f5", "--log-format", "plain"]);
    await activationStarted(fleet(), "f5", "sshd");
    // Only the listener goes: the runner lives on, as on a host whose activation restarts sshd.
    const host = fleet().host("f5");
    const sshd = await host.sshdPid();
    await host.stopSshd();
    for (const pid of await host.processes()) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (pid !== sshd && cmdline.startsWith("sshd")) process.kill(pid, "SIGKILL");
    }
    await fleet().startSshd("f5");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(0);
    const wanted = systemOf(result.stdout, "f5");
    expect(wanted).not.toBe(before);
    await expectInvariants(fleet(), result, { f5: { before, wanted } });
  });

  it("restores a host that rebooted in the middle of its activation", async () => {
    const before = await baseline("f6");
    const dir = await writeHive({ f6: slowActivation(60, "reboot") });
    const run = startHive(fleet(), dir, ["apply", "--on", "f6", "--log-format", "plain"]);
    await activationStarted(fleet(), "f6", "reboot");
    await fleet().reboot("f6");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code).toBe(1);
    expect(result.stdout).toMatch(/^f6: failed at activate: .*(rebooted during the activation|stopped on the host)/m);
    await expectInvariants(fleet(), result, { f6: { before, wanted: undefined } });
  });
});
