import { afterAll, describe, expect, it } from "vitest";
import { LinkProxy } from "@hive/testbed";
import { useFleet } from "../support/fleet.js";
import { fanOutLeftovers } from "../support/shared-paths.js";
import {
  baseline as baselineOf,
  expectInvariants,
  startHive,
  systemOf,
  waitFor,
  writeHive,
  type HiveRun,
} from "./fault-kit.js";

const MiB = 1024 * 1024;

/**
 * Ctrl-C while hosts copy from each other (fan-out): the run ends with its summary and 130, each
 * host runs what hive says, and no ephemeral key is left on any host.
 */
describe("faults during fan-out", () => {
  const fleet = useFleet({
    hosts: [{ name: "p1" }, { name: "p2" }, { name: "p3" }, { name: "p4" }, { name: "p5" }, { name: "p6" }],
  });
  const links: LinkProxy[] = [];
  afterAll(async () => {
    await Promise.all(links.map((l) => l.close()));
  });
  const baseline = (host: string) => baselineOf(fleet(), host);

  /** Two hosts whose peers reach them through slow links (a copy between them takes seconds). */
  async function slowPeers(
    a: string,
    b: string,
  ): Promise<{ dir: string; receiving: () => string | undefined; link: (name: string) => LinkProxy | undefined }> {
    const slow = new Map<string, LinkProxy>();
    for (const name of [a, b]) {
      const link = await LinkProxy.start({ targetPort: fleet().host(name).port, bytesPerSecond: 2 * MiB });
      links.push(link);
      slow.set(name, link);
    }
    const seed = `fan-out-fault-${Date.now()}`;
    const node = (name: string) =>
      `deployment.fanOut = { address = "127.0.0.1"; port = ${slow.get(name)?.port ?? 0}; };
       testbed.payload = { paths = 8; bytes = ${MiB}; seed = "${seed}"; };
       testbed.hostPayload = { paths = 1; bytes = 4096; seed = "${seed}-${name}"; };`;
    const dir = await writeHive({ [a]: node(a), [b]: node(b) });
    return {
      dir,
      receiving: () => [...slow].find(([, l]) => l.bytesForwarded > MiB)?.[0],
      link: (name) => slow.get(name),
    };
  }

  const leftovers = (name: string) => fanOutLeftovers(fleet().host(name));

  async function interrupt(run: HiveRun, times: number) {
    for (let i = 0; i < times; i++) {
      run.signalGroup("SIGINT");
      await new Promise((r) => setTimeout(r, 200));
    }
    const code = await run.exited;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  }

  it("one Ctrl-C during a copy between hosts: it finishes, nothing new starts, the summary and 130; no key left", async () => {
    const before = { p1: await baseline("p1"), p2: await baseline("p2") };
    const { dir, receiving } = await slowPeers("p1", "p2");
    const run = startHive(fleet(), dir, ["apply", "--on", "p1,p2", "--log-format", "plain", "-p", "2"]);
    await waitFor("a copy between the hosts", () => receiving() !== undefined);
    const receiver = receiving() ?? "";
    const result = await interrupt(run, 1);
    expect(result.code, result.stdout + result.stderr).toBe(130);
    expect(result.stdout).toMatch(new RegExp(`^${receiver}: skipped: interrupted before activate`, "m"));
    await expectInvariants(fleet(), result, {
      p1: { before: before.p1, wanted: systemOf(result.stdout, "p1") },
      p2: { before: before.p2, wanted: systemOf(result.stdout, "p2") },
    });
    // The copy was let finish: the receiver's store is whole and checks.
    expect((await fleet().host(receiver).run(["nix-store", "--verify", "--check-contents"])).code).toBe(0);
    for (const name of ["p1", "p2"]) expect(await leftovers(name)).toBe("");
  });

  it("two Ctrl-Cs during a copy between hosts: it stops at once; the summary and 130; no key left", async () => {
    const before = { p3: await baseline("p3"), p4: await baseline("p4") };
    const { dir, receiving } = await slowPeers("p3", "p4");
    const run = startHive(fleet(), dir, ["apply", "--on", "p3,p4", "--log-format", "plain", "-p", "2", "-v"]);
    await waitFor("a copy between the hosts", () => receiving() !== undefined).catch(async (e: unknown) => {
      console.log(run.stdout(), run.stderr(), await run.exited);
      throw e;
    });
    const receiver = receiving() ?? "";
    const started = Date.now();
    const result = await interrupt(run, 2);
    // 8 MiB at 2 MiB/s would take seconds more: the copy was stopped, not let finish.
    expect(Date.now() - started, result.stdout + result.stderr).toBeLessThan(3000);
    expect(result.code, result.stdout + result.stderr).toBe(130);
    expect(result.stdout).toMatch(new RegExp(`^${receiver}: (skipped|failed)\\b`, "m"));
    await expectInvariants(fleet(), result, {
      p3: { before: before.p3, wanted: systemOf(result.stdout, "p3") },
      p4: { before: before.p4, wanted: systemOf(result.stdout, "p4") },
    });
    expect((await fleet().host(receiver).run(["nix-store", "--verify", "--check-contents"])).code).toBe(0);
    for (const name of ["p3", "p4"]) expect(await leftovers(name)).toBe("");
  });

  it("a copy between hosts that stalls is given up after --fan-out-stall, and the host is pushed direct", async () => {
    const before = { p5: await baseline("p5"), p6: await baseline("p6") };
    const { dir, receiving, link } = await slowPeers("p5", "p6");
    const run = startHive(fleet(), dir, [
      "apply",
      "--on",
      "p5,p6",
      "--log-format",
      "plain",
      "-p",
      "2",
      "--fan-out-stall",
      "3",
    ]);
    await waitFor("a copy between the hosts", () => receiving() !== undefined);
    const receiver = receiving() ?? "";
    const peerLink = link(receiver);
    // The link to the receiver all but stops (1 byte a second): no more progress.
    if (peerLink !== undefined) peerLink.bytesPerSecond = 1;
    const code = await run.exited;
    const result = { code, stdout: run.stdout(), stderr: run.stderr() };
    expect(code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `${receiver} \\| warning: fan-out: copying from peer p\\d failed, pushing direct instead: .*made no progress for 3 s`,
      ),
    );
    expect(result.stdout).toMatch(new RegExp(`^${receiver}: succeeded`, "m"));
    await expectInvariants(fleet(), result, {
      p5: { before: before.p5, wanted: systemOf(result.stdout, "p5") },
      p6: { before: before.p6, wanted: systemOf(result.stdout, "p6") },
    });
    expect((await fleet().host(receiver).run(["nix-store", "--verify", "--check-contents"])).code).toBe(0);
    for (const name of ["p5", "p6"]) expect(await leftovers(name)).toBe("");
  });
});
