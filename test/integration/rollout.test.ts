import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useFleet } from "../support/fleet.js";
import { currentSystems, ndjson, runHive, writeHive } from "../faults/fault-kit.js";

const NODES = ["r1", "r2", "r3", "r4", "r5", "r6", "r7"];

/** Each node's activation, as its host saw it: when it started and ended. */
async function activationLog(): Promise<{
  file: string;
  read: () => Promise<Map<string, { start: number; end: number }>>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "hive-rollout-"));
  await chmod(dir, 0o1777);
  const file = join(dir, "activations");
  await writeFile(file, "");
  return {
    file,
    read: async () => {
      const spans = new Map<string, { start: number; end: number }>();
      for (const line of (await readFile(file, "utf8")).split("\n")) {
        const [what, node = "", at = "0"] = line.split(" ");
        const span = spans.get(node) ?? { start: 0, end: 0 };
        if (what === "start") span.start = Number(at);
        if (what === "end") span.end = Number(at);
        if (what === "start" || what === "end") spans.set(node, span);
      }
      return spans;
    },
  };
}

describe("staged rollouts", () => {
  const fleet = useFleet({ hosts: NODES.map((name) => ({ name })) });
  let haltedHive = "";

  const hive = (log: string, tag: string, failing: string[] = []) =>
    writeHive(
      Object.fromEntries(
        NODES.map((n) => [
          n,
          `environment.etc.rollout.text = "${tag}";
           system.activationScripts.seen = "echo start ${n} $(date +%s.%N) >> ${log}; sleep 0.3; echo end ${n} $(date +%s.%N) >> ${log}";
           ${failing.includes(n) ? 'system.activationScripts.zfail = "exit 7";' : ""}`,
        ]),
      ),
    );

  it("--canary 1 --waves 2: the canary first, then two at a time, each wave after the last one ended", async () => {
    const log = await activationLog();
    const dir = await hive(log.file, `waves-${Date.now()}`);
    const result = await runHive(fleet(), dir, ["apply", "--canary", "1", "--waves", "2", "--log-format", "json"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const waves = ndjson(result.stdout)
      .filter((e) => e["type"] === "wave-start")
      .map((e) => e["nodes"]);
    expect(waves).toEqual([["r1"], ["r2", "r3"], ["r4", "r5"], ["r6", "r7"]]);
    // On the hosts: every activation of a wave began after every activation of the wave before ended.
    const spans = await log.read();
    for (let i = 1; i < waves.length; i++) {
      const before = (waves[i - 1] as string[]).map((n) => spans.get(n)?.end ?? Infinity);
      const now = (waves[i] as string[]).map((n) => spans.get(n)?.start ?? 0);
      expect(Math.min(...now), `wave ${i + 1} started before wave ${i} ended`).toBeGreaterThanOrEqual(
        Math.max(...before),
      );
    }
  });

  it("--max-failures 0: a failure halts the rollout; the wave in flight finishes, no later host starts", async () => {
    const first = await activationLog();
    const base = await runHive(fleet(), await hive(first.file, `base-${Date.now()}`), ["apply"]);
    expect(base.code, base.stdout + base.stderr).toBe(0);
    const before = await currentSystems(fleet(), NODES);
    const log = await activationLog();
    const dir = await hive(log.file, `halt-${Date.now()}`, ["r3"]);
    haltedHive = dir;
    const result = await runHive(fleet(), dir, [
      "apply",
      "--waves",
      "2",
      "--max-failures",
      "0",
      "--log-format",
      "json",
    ]);
    expect(result.code).toBe(1);
    const all = ndjson(result.stdout);
    const halt = all.find((e) => e["type"] === "halt");
    expect(String(halt?.["reason"])).toMatch(/more than --max-failures 0 \(the last: r3\)/);
    const summary = all.at(-1) as { nodes: { node: string; outcome: string }[] };
    const outcome = (n: string) => summary.nodes.find((r) => r.node === n)?.outcome;
    expect(outcome("r1")).toBe("succeeded");
    expect(outcome("r3")).toBe("failed");
    for (const n of ["r5", "r6", "r7"]) expect(outcome(n), n).toBe("skipped");
    // The hosts never started say so, and run what they ran.
    const spans = await log.read();
    for (const n of ["r5", "r6", "r7"]) {
      expect(spans.has(n), `${n} activated`).toBe(false);
      expect(await fleet().host(n).currentSystem()).toBe(before.get(n));
    }
    expect(await fleet().host("r3").currentSystem()).toBe(before.get("r3"));
    const skipped = all.find((e) => e["type"] === "node-done" && e["node"] === "r7");
    expect(skipped?.["message"]).toMatch(/not started: the rollout halted/);
  });

  it("--on @failed,@skipped retries just what failed or never started in the last run of the hive", async () => {
    const log = await activationLog();
    // The same hive, fixed: r3 no longer fails.
    const fixed = await hive(log.file, `fixed-${Date.now()}`);
    await writeFile(join(haltedHive, "hive.nix"), await readFile(join(fixed, "hive.nix"), "utf8"));
    const result = await runHive(fleet(), haltedHive, ["apply", "--on", "@failed,@skipped", "--log-format", "json"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const summary = ndjson(result.stdout).at(-1) as { nodes: { node: string; outcome: string }[] };
    expect(summary.nodes.map((n) => n.node)).toEqual(["r3", "r5", "r6", "r7"]);
    expect((await log.read()).has("r1")).toBe(false);
    // Nothing failed this time: asking for the failures again is an empty selection.
    const none = await runHive(fleet(), haltedHive, ["apply", "--on", "@failed"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--on @failed: no node failed in the last run of this hive/);
  });

  it("--rollback-on-halt: every host this run switched goes back when the rollout halts", async () => {
    const before = await currentSystems(fleet(), NODES);
    const log = await activationLog();
    const dir = await hive(log.file, `undo-${Date.now()}`, ["r3"]);
    const result = await runHive(fleet(), dir, [
      "apply",
      "--waves",
      "2",
      "--max-failures",
      "0",
      "--rollback-on-halt",
      "--log-format",
      "json",
    ]);
    expect(result.code).toBe(1);
    const summary = ndjson(result.stdout).at(-1) as { nodes: { node: string; outcome: string; step?: string }[] };
    const outcome = (n: string) => summary.nodes.find((r) => r.node === n);
    // Wave 1 and the rest of wave 2 switched, then went back; the later waves never started.
    for (const n of ["r1", "r2", "r4"]) expect(outcome(n), n).toMatchObject({ outcome: "failed", step: "rollback" });
    for (const n of ["r5", "r6", "r7"]) expect(outcome(n)?.outcome, n).toBe("skipped");
    for (const n of NODES) expect(await fleet().host(n).currentSystem(), n).toBe(before.get(n));
    const done = ndjson(result.stdout).filter((e) => e["type"] === "node-done" && e["node"] === "r1");
    expect(String(done.at(-1)?.["message"])).toMatch(/switched, then rolled back because the rollout halted/);
  });

  it("takes the rollout policy from the hive's meta.rollout when the command line gives none", async () => {
    const log = await activationLog();
    const dir = await hive(log.file, `meta-${Date.now()}`);
    const file = join(dir, "hive.nix");
    await writeFile(
      file,
      (await readFile(file, "utf8")).replace(
        "meta.nixpkgs =",
        'meta.rollout = { canary = "r7"; waves = 3; };\n  meta.nixpkgs =',
      ),
    );
    const result = await runHive(fleet(), dir, ["apply", "--log-format", "json"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const waves = ndjson(result.stdout)
      .filter((e) => e["type"] === "wave-start")
      .map((e) => e["nodes"]);
    expect(waves).toEqual([["r7"], ["r1", "r2", "r3"], ["r4", "r5", "r6"]]);
  });
});
