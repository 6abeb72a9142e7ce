import { describe, expect, it } from "vitest";
import { parseNodeName, type NodeName } from "@hive/core";
import { NixCommandError } from "@hive/nix";
import { evaluateInChunks, type NodeOutcome } from "./chunked-eval.js";

const limits = (limit: number, parallel: number) => ({ limit, parallel, memoryBytes: 1024 ** 3 });
const nodes = ["a", "b", "c", "d", "e", "f", "g"].map(parseNodeName);

// A stand-in for nix: evaluates a chunk unless it holds a broken node.
function fakeNix(broken: readonly string[], calls: string[][]) {
  return (chunk: readonly NodeName[]) => {
    calls.push([...chunk]);
    const bad = chunk.find((n) => broken.includes(n));
    if (bad !== undefined) return Promise.reject(new NixCommandError("nix", `error: ${bad} is broken`, 1, false));
    return Promise.resolve({ values: new Map(chunk.map((n) => [n, `value of ${n}`])) });
  };
}

describe("evaluateInChunks", () => {
  it("bisects a failing chunk so that only broken nodes fail", async () => {
    const calls: string[][] = [];
    const outcomes: NodeOutcome<string>[] = [];
    await evaluateInChunks(nodes, limits(4, 1), fakeNix(["c"], calls), (o) => outcomes.push(o));
    expect(
      outcomes
        .filter((o) => o.ok)
        .map((o) => o.node)
        .sort(),
    ).toEqual(["a", "b", "d", "e", "f", "g"]);
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.ok === false && failed[0].error.message).toBe("node c: evaluation failed:\nerror: c is broken");
    expect(calls).toEqual([["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["e", "f", "g"], ["c"], ["d"]]);
  });

  it("reports every node exactly once, however many are broken", async () => {
    const outcomes: NodeOutcome<string>[] = [];
    await evaluateInChunks(nodes, limits(3, 2), fakeNix(["a", "b", "g"], []), (o) => outcomes.push(o));
    expect(outcomes.map((o) => o.node).sort()).toEqual([...nodes].sort());
    expect(
      outcomes
        .filter((o) => !o.ok)
        .map((o) => o.node)
        .sort(),
    ).toEqual(["a", "b", "g"]);
  });

  it("sizes later chunks from what earlier ones allocated", async () => {
    const sizes: number[] = [];
    await evaluateInChunks(
      Array.from({ length: 40 }, (_, i) => parseNodeName(`n${i}`)),
      { limit: "auto", parallel: 1, memoryBytes: 3 * 1024 ** 3 },
      (chunk) => {
        sizes.push(chunk.length);
        return Promise.resolve({ values: new Map(chunk.map((n) => [n, 1])), allocatedBytes: chunk.length * 1024 ** 2 });
      },
      () => undefined,
    );
    // 3 GiB x 0.75 - 1 GiB leaves room for 2 nodes at 512 MiB; then 1 MiB a node fits the rest.
    expect(sizes).toEqual([2, 38]);
  });

  it("cuts few chunks on two lanes once it knows what a node costs (no halving down to single nodes)", async () => {
    const sizes: number[] = [];
    // The two first chunks end together (as equal chunks do); later ones take 20 ms a node.
    let bothStarted: () => void = () => undefined;
    const firstTwo = new Promise<void>((resolve) => (bothStarted = () => setTimeout(resolve, 16 * 20)));
    await evaluateInChunks(
      Array.from({ length: 50 }, (_, i) => parseNodeName(`n${i}`)),
      { limit: "auto", parallel: 2, memoryBytes: 24 * 1024 ** 3 },
      async (chunk) => {
        sizes.push(chunk.length);
        if (sizes.length === 2) bothStarted();
        await (sizes.length <= 2 ? firstTwo : new Promise((r) => setTimeout(r, chunk.length * 20)));
        return { values: new Map(chunk.map((n) => [n, 1])), allocatedBytes: chunk.length * 1024 ** 2 };
      },
      () => undefined,
    );
    // Two first chunks bounded by the assumed 512 MiB a node, then the 18 left in two; halving
    // what was left at each cut made 9, 5, 2, 1, 1.
    expect(sizes).toEqual([16, 16, 9, 9]);
  });

  it("never runs more chunks at once than allowed", async () => {
    let running = 0;
    let peak = 0;
    await evaluateInChunks(
      nodes,
      limits(1, 3),
      async (chunk) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { values: new Map(chunk.map((n) => [n, 1])) };
      },
      () => undefined,
    );
    expect(peak).toBe(3);
  });

  it("stops everything on an error that is not Nix's", async () => {
    const calls: string[][] = [];
    const run = evaluateInChunks(
      nodes,
      limits(1, 1),
      (chunk) => {
        calls.push([...chunk]);
        return Promise.reject(new Error("bug"));
      },
      () => undefined,
    );
    await expect(run).rejects.toThrow("bug");
    expect(calls).toEqual([["a"]]);
  });
});
