import { availableParallelism, freemem } from "node:os";
import { readFileSync } from "node:fs";
import { HiveError } from "@hive/core";

/** `--eval-node-limit`: `auto` (from memory), `0` (no limit: one chunk per lane) or a number. */
export type EvalNodeLimit = "auto" | number;

export interface EvalLimits {
  /** Nodes evaluated by one nix process. */
  nodesPerChunk: number;
  /** Nix evaluation processes running at once. */
  parallel: number;
}

/**
 * What one evaluation is expected to cost, for `auto`: a NixOS node with real nixpkgs takes a few
 * hundred MiB; a nix process has a fixed cost on top. Deliberately pessimistic: running out of
 * memory kills the whole evaluation (Colmena #37), a smaller chunk costs only a little time.
 */
const MEMORY_PER_NODE = 512 * 1024 * 1024;
const MEMORY_PER_PROCESS = 1024 * 1024 * 1024;

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

export function resolveEvalLimits(
  limit: EvalNodeLimit,
  nodeCount: number,
  machine: { cpus: number; memoryBytes: number } = { cpus: availableParallelism(), memoryBytes: availableMemory() },
): EvalLimits {
  const byMemory = Math.max(1, Math.floor(machine.memoryBytes / (MEMORY_PER_PROCESS + MEMORY_PER_NODE)));
  const parallel = Math.max(1, Math.min(machine.cpus, byMemory, nodeCount));
  const perLane = Math.max(1, Math.ceil(nodeCount / parallel));
  if (limit === 0) return { nodesPerChunk: perLane, parallel };
  if (limit !== "auto") return { nodesPerChunk: Math.max(1, limit), parallel };
  const fitting = Math.max(1, Math.floor((machine.memoryBytes / parallel - MEMORY_PER_PROCESS) / MEMORY_PER_NODE));
  return { nodesPerChunk: Math.min(perLane, fitting), parallel };
}
