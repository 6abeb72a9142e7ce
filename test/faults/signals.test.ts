import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import {
  activationStarted,
  expectInvariants,
  lastRecord,
  slowActivation,
  startHive,
  systemOf,
  waitFor,
  writeHive,
  baseline as baselineOf,
} from "./fault-kit.js";

/** Processes whose command line matches `pattern` and for which `also(pid)` holds. */
async function processes(pattern: RegExp, also: (pid: string) => Promise<boolean>): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).replace(/\0/g, " ");
      if (pattern.test(cmdline) && (await also(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Processes whose parent is `parent` and whose command line matches. */
function childrenOf(parent: number, pattern: RegExp): Promise<number[]> {
  return processes(pattern, async (pid) => {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent;
  });
}

/** Processes whose command line matches and that have `dir` mounted (a testbed host's own). */
function processesSeeing(dir: string, pattern: RegExp): Promise<number[]> {
  return processes(pattern, async (pid) => (await readFile(`/proc/${pid}/mountinfo`, "utf8")).includes(` ${dir} `));
}

const payload = (seed: string, mib: number) =>
  `testbed.payload = { paths = 8; bytes = ${Math.round((mib * 1024 * 1024) / 8)}; seed = "${seed}"; };`;
// Evaluating this takes many seconds: time to interrupt an evaluation.
const slowEvaluation = `environment.etc.sum.text = toString (builtins.foldl' builtins.add 0 (builtins.genList (x: x) 15000000));`;

describe("signals and killed helpers", () => {
  const fleet = useFleet({ hosts: [{ name: "s1" }, { name: "s2" }, { name: "s3" }, { name: "s4" }, { name: "s5" }] });

  const baseline = (host: string) => baselineOf(fleet(), host);

  it("Ctrl-C at a terminal (SIGINT to the whole group) during a push: no crash, a summary, exit 130", async () => {
    const before = await baseline("s1");
    const link = await fleet().link("s1", { bytesPerSecond: 3 * 1024 * 1024 });
    const dir = await writeHive({ s1: `deployment.targetHost = "s1-link"; ${payload(`int-${Date.now()}`, 12)}` });
    const run = startHive(fleet(), dir, ["apply", "--on", "s1", "--no-gzip", "--log-format", "plain"]);
    await waitFor("the push to start", () => /s1 \| push/.test(run.stderr()));
    await sleep(500);
    run.signalGroup("SIGINT");
    const code = await run.exited;
    await link.close();
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(130);
    // The running push finished; nothing new (the activation) started.
    expect(result.stdout).toMatch(/^s1: skipped: interrupted before activate/m);
    await expectInvariants(fleet(), result, { s1: { before, wanted: undefined } });
  });

  it("a killed local nix-store --export fails the node pushing, while the node activating finishes", async () => {
    await baseline("s2");
    const beforeS3 = await baseline("s3");
    const link = await fleet().link("s3", { bytesPerSecond: 2 * 1024 * 1024 });
    const dir = await writeHive({
      s2: slowActivation(4, "export-s2"),
      // s3 builds a little longer, so its push starts while s2 activates.
      s3: `deployment.targetHost = "s3-link"; system.extraSystemBuilderCmds = "sleep 2"; ${payload(`kill-${Date.now()}`, 12)}`,
    });
    const run = startHive(fleet(), dir, ["apply", "--on", "s2,s3", "--no-gzip", "--log-format", "plain"]);
    await activationStarted(fleet(), "s2", "export-s2");
    await waitFor("s3's push to start", () => /s3 \| push/.test(run.stderr()));
    let exports: number[] = [];
    await waitFor("the export", async () => (exports = await childrenOf(run.pid, /nix-store --export/)).length > 0);
    for (const pid of exports) process.kill(pid, "SIGKILL");
    const code = await run.exited;
    await link.close();
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /^s3: failed at push: .*nix-store --export on this machine failed: killed by SIGKILL/m,
    );
    const wanted = systemOf(result.stdout, "s2");
    expect(wanted).toBeDefined();
    await expectInvariants(fleet(), result, {
      s2: { before: undefined, wanted },
      s3: { before: beforeS3, wanted: undefined },
    });
  });

  it("Ctrl-C twice during evaluation: exit 130 at once, a short message, every node skipped", async () => {
    const before = await baseline("s4");
    const dir = await writeHive({ s4: slowEvaluation });
    const run = startHive(fleet(), dir, ["apply", "--on", "s4", "--log-format", "plain"]);
    await waitFor("the evaluation", async () => (await childrenOf(run.pid, /nix/)).length > 0);
    await sleep(1500);
    run.signalGroup("SIGINT");
    await sleep(100);
    run.signalGroup("SIGINT");
    const started = Date.now();
    const code = await run.exited;
    expect(Date.now() - started).toBeLessThan(15_000);
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(130);
    expect(result.stderr.length).toBeLessThan(2000);
    expect(result.stdout).toMatch(/^s4: skipped: interrupted before evaluate/m);
    await expectInvariants(fleet(), result, { s4: { before, wanted: undefined } });
  });

  it("one Ctrl-C during evaluation starts nothing: no build, no host touched", async () => {
    const before = await baseline("s5");
    const dir = await writeHive({ s5: `${slowEvaluation} environment.etc.other.text = "x";` });
    const run = startHive(fleet(), dir, ["apply", "--on", "s5", "--log-format", "plain"]);
    await waitFor("the evaluation", async () => (await childrenOf(run.pid, /nix/)).length > 0);
    await sleep(1500);
    run.signal("SIGINT");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(130);
    expect(result.stderr).not.toMatch(/s5 \| (build|push|connect)/);
    await expectInvariants(fleet(), result, { s5: { before, wanted: undefined } });
  });

  it("SIGTERM during an activation lets it finish, then ends with the summary and 130", async () => {
    await baseline("s1");
    const dir = await writeHive({ s1: slowActivation(2, "term") });
    const run = startHive(fleet(), dir, ["apply", "--on", "s1", "--log-format", "plain"]);
    await activationStarted(fleet(), "s1", "term");
    run.signal("SIGTERM");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(130);
    const wanted = systemOf(result.stdout, "s1");
    expect(wanted).toBeDefined();
    await expectInvariants(fleet(), result, { s1: { before: undefined, wanted } });
  });

  it("a second Ctrl-C during an activation stops it and restores the previous system", async () => {
    const before = await baseline("s2");
    const dir = await writeHive({ s2: slowActivation(60, "abort") });
    const run = startHive(fleet(), dir, ["apply", "--on", "s2", "--log-format", "plain"]);
    await activationStarted(fleet(), "s2", "abort");
    run.signalGroup("SIGINT");
    await sleep(200);
    run.signalGroup("SIGINT");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(130);
    expect(result.stdout).toMatch(/^s2: failed at activate: .*was stopped \(interrupted\); rolled back/m);
    await expectInvariants(fleet(), result, { s2: { before, wanted: undefined } });
    expect(await lastRecord(fleet(), "s2")).toMatchObject({ outcome: "rolled-back" });
  });

  it("the host's nix-store --serve killed during a push: the node fails at push naming it, the store stays whole, the next apply deploys", async () => {
    // s5: the hosts pushed to before have their own links already (a host has one).
    const before = await baseline("s5");
    const link = await fleet().link("s5", { bytesPerSecond: 3 * 1024 * 1024 });
    const dir = await writeHive({ s5: `deployment.targetHost = "s5-link"; ${payload(`serve-${Date.now()}`, 12)}` });
    const run = startHive(fleet(), dir, ["apply", "--on", "s5", "--no-gzip", "--log-format", "plain"]);
    await waitFor("the push to start", () => /s5 \| push/.test(run.stderr()));
    await sleep(1000);
    // Only this host's server: the testbed's hosts share this machine's process table, and a
    // host's processes are the ones that see its /nix.
    const servers = await processesSeeing(fleet().host("s5").paths.nix, /^nix-store --serve/);
    expect(servers).toHaveLength(1);
    for (const pid of servers) process.kill(pid, "SIGKILL");
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^s5: failed at push: node s5: push: nix-store --serve failed on /m);
    expect(result.stdout).toMatch(/killed by SIGKILL/);
    await expectInvariants(fleet(), result, { s5: { before, wanted: undefined } });
    const verify = await fleet().host("s5").run(["nix-store", "--verify", "--check-contents"]);
    expect(verify.code, verify.stderr).toBe(0);
    const again = startHive(fleet(), dir, ["apply", "--on", "s5", "--no-gzip", "--log-format", "plain"]);
    const againCode = await again.exited;
    await link.close();
    expect(againCode, again.stdout() + again.stderr()).toBe(0);
    expect(again.stdout()).toMatch(/^s5: succeeded/m);
  });
});
