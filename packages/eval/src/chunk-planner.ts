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

/**
 * Decides how many nodes the next chunk takes. With `auto` it starts from the assumption above
 * and then learns from what finished chunks really allocated (Nix's own statistics), so chunks
 * grow as large as memory allows, and no larger; the remaining nodes are spread over the lanes.
 */
export class ChunkPlanner {
  private bytesPerNode: number | undefined;

  constructor(
    private readonly limit: EvalNodeLimit,
    private readonly total: number,
    private readonly parallel: number,
    private readonly memoryBytes: number,
  ) {}

  /** Size of the next chunk, given how many nodes are left. */
  next(remaining: number): number {
    if (remaining <= 0) return 0;
    if (this.limit === 0) return Math.min(remaining, Math.ceil(this.total / this.parallel));
    if (this.limit !== "auto") return Math.min(remaining, this.limit);
    const perLane = (this.memoryBytes * MEMORY_SHARE) / this.parallel - BYTES_PER_PROCESS;
    const fitting = Math.max(1, Math.floor(perLane / (this.bytesPerNode ?? ASSUMED_BYTES_PER_NODE)));
    return Math.max(1, Math.min(remaining, Math.ceil(remaining / this.parallel), fitting));
  }

  /** What a finished chunk of `nodes` nodes allocated: taken as its cost per node (an upper bound). */
  observe(nodes: number, allocatedBytes: number): void {
    if (nodes <= 0 || !(allocatedBytes > 0)) return;
    const perNode = allocatedBytes / nodes;
    this.bytesPerNode = Math.max(this.bytesPerNode ?? 0, perNode);
  }
}
