import type { EvalNodeLimit } from "./eval-limits.js";

/**
 * Before anything is measured, a node is assumed to cost this much: about what a NixOS node
 * evaluated with real nixpkgs allocates. Running out of memory kills the whole evaluation
 * (Colmena #37); a smaller chunk only costs a little time.
 */
export const ASSUMED_BYTES_PER_NODE = 512 * 1024 * 1024;
/** What a nix process costs before it evaluates any node. */
export const BYTES_PER_PROCESS = 1024 * 1024 * 1024;
/** Share of the available memory that evaluation may take. */
export const MEMORY_SHARE = 0.75;

/** A chunk being evaluated: how many nodes, and for how long so far. */
export interface RunningChunk {
  nodes: number;
  elapsedMs: number;
}

/**
 * Decides how many nodes the next chunk takes. With `auto` it starts from the assumption above
 * and then learns from what finished chunks really allocated (Nix's own statistics), so chunks
 * grow as large as memory allows, and no larger.
 *
 * Within that bound, a lane takes its share of the work left: the nodes not yet cut plus those
 * the busy lanes have still to do (estimated from how long finished chunks took a node), spread
 * over all lanes. Lanes then finish together with few nix processes, each of which pays for
 * starting Nix and loading nixpkgs again: halving what was left at every cut ran 7 processes
 * for 50 nodes on two lanes, where 4 do.
 *
 * Nor is a chunk cut smaller than what is worth a process: as many nodes as cost, in CPU, what
 * the process costs before its first node (the CPU time of the process that opened the hive).
 * Small nodes (a few milliseconds each) then go in few chunks, where lanes would otherwise halve
 * what is left down to processes of one node, each paying Nix's start again on a machine that
 * is busy connecting to the hosts.
 */
export class ChunkPlanner {
  private bytesPerNode: number | undefined;
  private observedNodes = 0;
  private observedMs = 0;
  /** Nodes of the chunks whose CPU time is known, and that CPU time beyond the process's own. */
  private cpuNodes = 0;
  private cpuBeyondProcessMs = 0;

  constructor(
    private readonly limit: EvalNodeLimit,
    private readonly total: number,
    private readonly parallel: number,
    private readonly memoryBytes: number,
    /** CPU time a nix process takes before it evaluates a node, when measured. */
    private readonly processCpuMs?: number | undefined,
  ) {}

  /** Size of the next chunk, given how many nodes are left and the chunks still running. */
  next(remaining: number, running: readonly RunningChunk[] = []): number {
    if (remaining <= 0) return 0;
    if (this.limit === 0) return Math.min(remaining, Math.ceil(this.total / this.parallel));
    if (this.limit !== "auto") return Math.min(remaining, this.limit);
    const perLane = (this.memoryBytes * MEMORY_SHARE) / this.parallel - BYTES_PER_PROCESS;
    const fitting = Math.max(1, Math.floor(perLane / (this.bytesPerNode ?? ASSUMED_BYTES_PER_NODE)));
    const least = this.leastWorthAProcess(remaining);
    let share = Math.max(least, Math.ceil((remaining + this.unfinished(running)) / this.parallel));
    // A few nodes left over would cost a nix process of their own (Nix and nixpkgs loaded again
    // for them): worth more than the imbalance of taking them now.
    if (remaining - share <= share / 4 || remaining - share < least) share = remaining;
    return Math.max(1, Math.min(remaining, share, fitting));
  }

  /** The fewest nodes worth a process: those whose CPU time matches the process's own. */
  private leastWorthAProcess(remaining: number): number {
    const processMs = this.processCpuMs;
    if (processMs === undefined || !(processMs > 0) || this.cpuNodes === 0) return 1;
    const perNode = this.cpuBeyondProcessMs / this.cpuNodes;
    return perNode > 0 ? Math.ceil(processMs / perNode) : remaining;
  }

  /** Whole nodes the running chunks have still to do: all of theirs until a chunk has been timed. */
  private unfinished(running: readonly RunningChunk[]): number {
    const msPerNode = this.observedNodes > 0 ? this.observedMs / this.observedNodes : undefined;
    return running.reduce((sum, chunk) => {
      if (msPerNode === undefined || msPerNode <= 0) return sum + chunk.nodes;
      return sum + Math.max(0, Math.floor(chunk.nodes - chunk.elapsedMs / msPerNode));
    }, 0);
  }

  /**
   * A finished chunk of `nodes` nodes: what it allocated, taken as its cost per node (an upper
   * bound), how long it took, and its process's CPU time.
   */
  observe(nodes: number, allocatedBytes: number | undefined, elapsedMs?: number, cpuMs?: number): void {
    if (nodes <= 0) return;
    if (cpuMs !== undefined && cpuMs >= 0 && this.processCpuMs !== undefined) {
      this.cpuNodes += nodes;
      this.cpuBeyondProcessMs += Math.max(0, cpuMs - this.processCpuMs);
    }
    if (elapsedMs !== undefined && elapsedMs >= 0) {
      this.observedNodes += nodes;
      this.observedMs += elapsedMs;
    }
    if (allocatedBytes === undefined || !(allocatedBytes > 0)) return;
    this.bytesPerNode = Math.max(this.bytesPerNode ?? 0, allocatedBytes / nodes);
  }
}
