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

  it("runs one nix process per core while memory holds one node each", () => {
    expect(resolveEvalLimits("auto", 200, { cpus: 2, memoryBytes: 24 * GiB }).parallel).toBe(2);
    expect(resolveEvalLimits("auto", 200, { cpus: 8, memoryBytes: 4 * GiB }).parallel).toBe(2);
    expect(resolveEvalLimits("auto", 200, { cpus: 8, memoryBytes: GiB }).parallel).toBe(1);
    expect(resolveEvalLimits(5, 1, { cpus: 8, memoryBytes: 24 * GiB })).toEqual({
      limit: 5,
      parallel: 1,
      memoryBytes: 24 * GiB,
    });
  });
});
