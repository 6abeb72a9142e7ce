import PQueue from "p-queue";
import { HiveError, type NodeName } from "@hive/core";
import { NixCommandError } from "@hive/nix";
import { ChunkPlanner } from "./chunk-planner.js";
import type { EvalLimits } from "./eval-limits.js";

export type NodeOutcome<T> = { node: NodeName; ok: true; value: T } | { node: NodeName; ok: false; error: HiveError };

export interface ChunkResult<T> {
  values: Map<NodeName, T>;
  /** Nodes whose result came back but is not valid (they fail alone). */
  invalid?: Map<NodeName, HiveError>;
  /** What the nix process allocated, when it says (for sizing the next chunks). */
  allocatedBytes?: number | undefined;
  /** The nix process's CPU time, when it says. */
  cpuMs?: number | undefined;
}

/**
 * Evaluates nodes in chunks, `limits.parallel` nix processes at a time, and reports each node as
 * soon as its chunk is done. Chunks are cut as lanes free up, sized by a ChunkPlanner. A chunk
 * that fails is split in two until the failing nodes stand alone: one broken node fails alone,
 * with its own error, and costs the others only a retry.
 */
export async function evaluateInChunks<T>(
  nodes: readonly NodeName[],
  limits: EvalLimits,
  evaluateChunk: (chunk: readonly NodeName[], signal: AbortSignal | undefined) => Promise<ChunkResult<T>>,
  onOutcome: (outcome: NodeOutcome<T>) => void,
  options: { signal?: AbortSignal | undefined; onChunk?: ((chunk: readonly NodeName[]) => void) | undefined } = {},
): Promise<void> {
  const queue = new PQueue({ concurrency: limits.parallel });
  const planner = new ChunkPlanner(
    limits.limit,
    nodes.length,
    limits.parallel,
    limits.memoryBytes,
    limits.processCpuMs,
  );
  const pending = [...nodes];
  // When each running chunk started, for the planner's estimate of what they have still to do.
  const running = new Map<readonly NodeName[], number>();
  let fatal: unknown;
  const startNext = (): void => {
    const now = performance.now();
    const busy = [...running].map(([chunk, started]) => ({ nodes: chunk.length, elapsedMs: now - started }));
    const chunk = pending.splice(0, planner.next(pending.length, busy));
    if (chunk.length > 0) {
      running.set(chunk, now);
      void queue.add(() => run(chunk));
    }
  };
  const run = async (chunk: readonly NodeName[]): Promise<void> => {
    if (fatal !== undefined || options.signal?.aborted) return;
    options.onChunk?.(chunk);
    const started = performance.now();
    running.set(chunk, started);
    try {
      const { values, invalid, allocatedBytes, cpuMs } = await evaluateChunk(chunk, options.signal);
      running.delete(chunk);
      planner.observe(chunk.length, allocatedBytes, performance.now() - started, cpuMs);
      for (const node of chunk) {
        const error = invalid?.get(node);
        if (error !== undefined) {
          onOutcome({ node, ok: false, error });
          continue;
        }
        const value = values.get(node);
        if (value === undefined) throw new Error(`evaluation returned nothing for ${node}`);
        onOutcome({ node, ok: true, value });
      }
    } catch (error) {
      running.delete(chunk);
      if (!(error instanceof NixCommandError)) {
        fatal ??= error;
        queue.clear();
        return;
      }
      const [single] = chunk;
      if (chunk.length === 1 && single !== undefined) {
        onOutcome({
          node: single,
          ok: false,
          error: new HiveError("HIVE_NODE_EVAL_FAILED", `node ${single}: evaluation failed:\n${error.message}`, {
            cause: error,
          }),
        });
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      void queue.add(() => run(chunk.slice(0, half)));
      void queue.add(() => run(chunk.slice(half)));
    } finally {
      if (fatal === undefined && !options.signal?.aborted) startNext();
    }
  };
  for (let lane = 0; lane < limits.parallel; lane++) startNext();
  await queue.onIdle();
  if (fatal !== undefined) throw fatal as Error;
  options.signal?.throwIfAborted();
}
