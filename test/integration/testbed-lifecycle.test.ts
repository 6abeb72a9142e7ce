import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { processesOfHostsUnder, Testbed } from "@hive/testbed";
import { fleetDir } from "../support/fleet.js";
import { ok, run } from "../support/run.js";
import { testbedBin, testbedModule } from "../support/paths.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(dir: string, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await processesOfHostsUnder(dir);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = await processesOfHostsUnder(dir);
  }
  return left;
}

describe("testbed lifecycle: nothing outlives its fleet", () => {
  it("stops every sshd and session on teardown", async () => {
    const dir = await fleetDir();
    const fleet = await Testbed.start({ hosts: 2, dir });
    const sshdPids = await Promise.all(fleet.hosts.map((h) => h.sshdPid()));
    expect(sshdPids.every((pid) => pid !== undefined && alive(pid))).toBe(true);
    // A session left running on a host must die with it too.
    const session = spawn("ssh", [...fleet.sshArgs("h1"), "sleep 600"], { stdio: "ignore" });
    await sleep(500);
    expect((await processesOfHostsUnder(dir)).length).toBeGreaterThan(2);
    await fleet.stop();
    session.kill();
    expect(await processesOfHostsUnder(dir)).toEqual([]);
    expect(sshdPids.filter((pid) => pid !== undefined && alive(pid))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it("takes its hosts down when the process that started them is killed", async () => {
    const dir = await fleetDir();
    const script = `
      import { Testbed } from ${JSON.stringify(testbedModule)};
      const fleet = await Testbed.start({ hosts: 2, dir: ${JSON.stringify(join(dir, "crash"))} });
      console.log("up " + fleet.hosts.length);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const firstLine = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once("line", resolve),
    );
    expect(firstLine).toBe("up 2");
    expect((await processesOfHostsUnder(dir)).length).toBeGreaterThanOrEqual(2);
    child.kill("SIGKILL");
    expect(await waitUntilGone(dir, 10_000)).toEqual([]);
  });

  it("runs detached fleets from the hive-testbed CLI until 'down'", async () => {
    const dir = join(await fleetDir(), "cli");
    await ok(process.execPath, [testbedBin, "up", "2", "--dir", dir]);
    // The CLI has exited; its hosts are still there.
    const reached = await run("ssh", ["-F", join(dir, "ssh_config"), "-o", "BatchMode=yes", "h2", "echo up"]);
    expect(reached.stdout.trim()).toBe("up");
    const status = JSON.parse(await ok(process.execPath, [testbedBin, "status", "--dir", dir, "--json"])) as {
      name: string;
      sshd: string;
    }[];
    expect(status.map((h) => [h.name, h.sshd])).toEqual([
      ["h1", "running"],
      ["h2", "running"],
    ]);
    await ok(process.execPath, [testbedBin, "reboot", "h1", "--dir", dir]);
    await ok(process.execPath, [testbedBin, "down", "--dir", dir]);
    expect(await processesOfHostsUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it("explains usage errors with exit code 2", async () => {
    const noDir = await run(process.execPath, [testbedBin, "status"]);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/status needs --dir DIR/);
    const badCount = await run(process.execPath, [testbedBin, "up", "zero", "--dir", "/tmp/never"]);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toMatch(/host count/);
  });
});
