import { describe, expect, it } from "vitest";
import { ChunkPlanner } from "./chunk-planner.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe("ChunkPlanner", () => {
  it("starts small with auto, assuming real-nixpkgs nodes", () => {
    // 24 GiB x 0.75 / 2 lanes = 9 GiB a lane, 1 GiB for the process, 512 MiB a node.
    expect(new ChunkPlanner("auto", 200, 2, 24 * GiB).next(200)).toBe(16);
  });

  it("grows chunks once it has seen what nodes really cost, spreading what is left over the lanes", () => {
    const planner = new ChunkPlanner("auto", 200, 2, 24 * GiB);
    planner.observe(16, 16 * 6 * MiB);
    expect(planner.next(168)).toBe(84);
    expect(planner.next(84)).toBe(42);
    expect(planner.next(1)).toBe(1);
  });

  it("counts what busy lanes have still to do, so that a lane takes its whole share at once", () => {
    const planner = new ChunkPlanner("auto", 50, 2, 24 * GiB);
    // Nothing timed yet: a running chunk counts whole.
    expect(planner.next(35, [{ nodes: 15, elapsedMs: 0 }])).toBe(16);
    planner.observe(15, 15 * 6 * MiB, 1500);
    // The other first chunk is as far as this one was: nearly done (no whole node to go). Half of the 20 left.
    expect(planner.next(20, [{ nodes: 15, elapsedMs: 1450 }])).toBe(10);
    // The last lane to free up takes all 10 left, beside the 10 just started: no third cut.
    expect(planner.next(10, [{ nodes: 10, elapsedMs: 0 }])).toBe(10);
    // A lane that frees up while the other has much to do leaves it less.
    expect(planner.next(40, [{ nodes: 20, elapsedMs: 0 }])).toBe(30);
    // No process for a node or two: a share that would leave one takes it too.
    expect(planner.next(10, [{ nodes: 10, elapsedMs: 150 }])).toBe(10);
  });

  it("cuts no chunk smaller than the nodes whose CPU time matches a process's own", () => {
    // A process costs 20 ms before its first node; a node 2 ms more (15 nodes: 50 ms of CPU).
    const planner = new ChunkPlanner("auto", 50, 2, 24 * GiB, 20);
    planner.observe(15, 15 * MiB, 150, 50);
    // Half of the 20 left would do, but 10 nodes are not worth a process: all 20 at once.
    expect(planner.next(20, [{ nodes: 15, elapsedMs: 140 }])).toBe(20);
    // Where nodes cost more than a process, lanes share as before.
    const heavy = new ChunkPlanner("auto", 50, 2, 24 * GiB, 20);
    heavy.observe(15, 15 * MiB, 1500, 20 + 15 * 90);
    expect(heavy.next(20, [{ nodes: 15, elapsedMs: 1450 }])).toBe(10);
    // Nodes that cost nothing measurable beyond the process all go together.
    const free = new ChunkPlanner("auto", 50, 2, 24 * GiB, 20);
    free.observe(15, 15 * MiB, 150, 19);
    expect(free.next(20, [{ nodes: 15, elapsedMs: 140 }])).toBe(20);
    // Memory still bounds a chunk: 4 GiB x 0.75 / 2 lanes - 1 GiB = 512 MiB, 64 MiB a node.
    const small = new ChunkPlanner("auto", 50, 2, 4 * GiB, 20);
    small.observe(4, 4 * 64 * MiB, 150, 21);
    expect(small.next(20, [])).toBe(8);
    // Without the process's own cost, nothing changes.
    const unmeasured = new ChunkPlanner("auto", 50, 2, 24 * GiB);
    unmeasured.observe(15, 15 * MiB, 150, 50);
    expect(unmeasured.next(20, [{ nodes: 15, elapsedMs: 145 }])).toBe(10);
  });

  it("keeps the most expensive observation, and never plans past memory", () => {
    const planner = new ChunkPlanner("auto", 1000, 2, 4 * GiB);
    planner.observe(10, 10 * 50 * MiB);
    planner.observe(10, 10 * 5 * MiB);
    // (4 GiB x 0.75 / 2 - 1 GiB) / 50 MiB = 10
    expect(planner.next(1000)).toBe(10);
    planner.observe(0, 123);
    planner.observe(5, Number.NaN);
    expect(planner.next(1000)).toBe(10);
  });

  it("takes a fixed limit as it is, and 0 as one chunk per lane", () => {
    expect(new ChunkPlanner(7, 200, 2, GiB).next(200)).toBe(7);
    expect(new ChunkPlanner(7, 200, 2, GiB).next(3)).toBe(3);
    expect(new ChunkPlanner(0, 200, 2, GiB).next(200)).toBe(100);
    expect(new ChunkPlanner(0, 200, 2, GiB).next(50)).toBe(50);
  });
});
