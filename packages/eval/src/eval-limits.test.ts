import { describe, expect, it } from "vitest";
import { parseEvalNodeLimit, resolveEvalLimits } from "./eval-limits.js";

const GiB = 1024 ** 3;

describe("evaluation limits", () => {
  it("parses auto, 0 and numbers, and refuses the rest", () => {
    expect(parseEvalNodeLimit("auto")).toBe("auto");
    expect(parseEvalNodeLimit("0")).toBe(0);
    expect(parseEvalNodeLimit("12")).toBe(12);
    for (const bad of ["-1", "1.5", "many", ""]) expect(() => parseEvalNodeLimit(bad)).toThrow(/--eval-node-limit/);
  });

  it("spreads nodes over the cores when memory allows", () => {
    expect(resolveEvalLimits("auto", 200, { cpus: 2, memoryBytes: 24 * GiB })).toEqual({
      nodesPerChunk: 22,
      parallel: 2,
    });
    expect(resolveEvalLimits("auto", 10, { cpus: 2, memoryBytes: 24 * GiB })).toEqual({
      nodesPerChunk: 5,
      parallel: 2,
    });
  });

  it("shrinks chunks and lanes when memory is short", () => {
    expect(resolveEvalLimits("auto", 200, { cpus: 8, memoryBytes: 3 * GiB })).toEqual({
      nodesPerChunk: 1,
      parallel: 2,
    });
    expect(resolveEvalLimits("auto", 200, { cpus: 8, memoryBytes: GiB })).toEqual({ nodesPerChunk: 1, parallel: 1 });
  });

  it("takes 0 as one chunk per lane and a number as it is", () => {
    expect(resolveEvalLimits(0, 200, { cpus: 2, memoryBytes: 24 * GiB })).toEqual({ nodesPerChunk: 100, parallel: 2 });
    expect(resolveEvalLimits(7, 200, { cpus: 2, memoryBytes: 24 * GiB })).toEqual({ nodesPerChunk: 7, parallel: 2 });
    expect(resolveEvalLimits("auto", 1, { cpus: 2, memoryBytes: 24 * GiB })).toEqual({ nodesPerChunk: 1, parallel: 1 });
  });
});
