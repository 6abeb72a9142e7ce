import { availableParallelism, freemem } from "node:os";
import { readFileSync } from "node:fs";
import { HiveError } from "@hive/core";
import { BYTES_PER_PROCESS, ASSUMED_BYTES_PER_NODE, MEMORY_SHARE } from "./chunk-planner.js";

/** `--eval-node-limit`: `auto` (from memory), `0` (no limit: one chunk per lane) or a number. */
export type EvalNodeLimit = "auto" | number;

export interface EvalLimits {
  /** Nodes per nix process: a number, or `auto` to size chunks from memory as evaluation goes. */
  limit: EvalNodeLimit;
  /** Nix evaluation processes running at once. */
  parallel: number;
  /** Memory evaluation may plan with (bytes). */
  memoryBytes: number;
  /** CPU time a nix process of this hive takes before it evaluates a node, when measured. */
  processCpuMs?: number | undefined;
}

export function parseEvalNodeLimit(raw: string): EvalNodeLimit {
  if (raw === "auto") return "auto";
  if (/^\d+$/.test(raw)) return Number(raw);
  throw new HiveError("HIVE_USAGE", `--eval-node-limit takes auto, 0 or a number of nodes, not ${JSON.stringify(raw)}`);
}

/** Memory that can be used without swapping: MemAvailable, or free memory where it is unknown. */
export function availableMemory(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match?.[1] !== undefined) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

/** One nix process per core, as many as memory holds with at least one node each. */
export function resolveEvalLimits(
  limit: EvalNodeLimit,
  nodeCount: number,
  machine: { cpus: number; memoryBytes: number } = { cpus: availableParallelism(), memoryBytes: availableMemory() },
): EvalLimits {
  const byMemory = Math.floor((machine.memoryBytes * MEMORY_SHARE) / (BYTES_PER_PROCESS + ASSUMED_BYTES_PER_NODE));
  const parallel = Math.max(1, Math.min(machine.cpus, byMemory, nodeCount));
  return { limit, parallel, memoryBytes: machine.memoryBytes };
}
