import type { DeployEvent, NodeName } from "@hive/core";

/** How a run's activations are staged: canaries first, then waves, within a failure budget. */
export interface RolloutPolicy {
  /** Nodes that go first, as wave 1 of their own. */
  canary: readonly NodeName[];
  /** Sizes of the waves after the canaries, in nodes; the last size repeats. Empty: all at once. */
  waves: readonly number[];
  /** Failed nodes the rollout tolerates; one more halts it (no new activation starts). */
  maxFailures: number;
  /** Between waves, wait this long, then re-run the health checks of every node switched so far. */
  soakMs?: number;
}

/** Re-runs the health checks of the nodes switched so far; resolves with those that fail. */
export type Soak = () => Promise<NodeName[]>;

/** The waves of a rollout over `nodes` (in their order), canaries first. */
export function planWaves(nodes: readonly NodeName[], policy: RolloutPolicy): NodeName[][] {
  const canary = nodes.filter((n) => policy.canary.includes(n));
  const rest = nodes.filter((n) => !policy.canary.includes(n));
  const waves: NodeName[][] = canary.length > 0 ? [canary] : [];
  if (policy.waves.length === 0) {
    if (rest.length > 0) waves.push(rest);
    return waves;
  }
  for (let at = 0, i = 0; at < rest.length; i++) {
    const size = Math.max(1, policy.waves[Math.min(i, policy.waves.length - 1)] ?? 1);
    waves.push(rest.slice(at, at + size));
    at += size;
  }
  return waves;
}

/**
 * The gate between a node's push and its activation: a node activates when its wave is open, and
 * a wave opens when every node of the waves before it has ended, unless the failure budget is
 * spent. Nodes never reach the gate when they fail earlier; they still end, and count.
 */
export class Rollout {
  private readonly waves: NodeName[][];
  private readonly waveOf = new Map<NodeName, number>();
  private readonly ended = new Map<NodeName, boolean>();
  private open = -1;
  private failures = 0;
  private haltedBecause: string | undefined;
  private readonly waiting = new Map<number, (() => void)[]>();
  /** The wave whose soak has run (or runs): the next wave opens after it. */
  private soaked = -1;
  private soaking = false;

  constructor(
    nodes: readonly NodeName[],
    private readonly policy: RolloutPolicy,
    private readonly emit: (event: DeployEvent) => void,
    private readonly soak?: Soak,
  ) {
    this.waves = planWaves(nodes, policy);
    this.waves.forEach((wave, i) => wave.forEach((n) => this.waveOf.set(n, i)));
    this.advance();
  }

  /** Why the rollout halted, if it did. */
  get halted(): string | undefined {
    return this.haltedBecause;
  }

  /** Waits for the node's wave; false when the rollout halted before it. */
  async turn(node: NodeName): Promise<boolean> {
    const wave = this.waveOf.get(node);
    if (wave === undefined) return this.haltedBecause === undefined;
    while (this.haltedBecause === undefined && wave > this.open) {
      await new Promise<void>((resolve) => this.waiting.set(wave, [...(this.waiting.get(wave) ?? []), resolve]));
    }
    return this.haltedBecause === undefined;
  }

  /** A node ended (any outcome); `failed` spends the budget. */
  end(node: NodeName, failed: boolean): void {
    if (this.ended.has(node)) return;
    this.ended.set(node, failed);
    if (failed) this.fail(node);
    this.advance();
  }

  private fail(node: NodeName): void {
    this.failures++;
    if (this.failures > this.policy.maxFailures && this.haltedBecause === undefined) {
      this.haltedBecause = `${this.failures} node(s) failed, more than --max-failures ${this.policy.maxFailures} (the last: ${node})`;
      this.emit({ type: "halt", reason: this.haltedBecause });
      this.wakeAll();
    }
  }

  /** Nodes that will never take part (never evaluated): they no longer hold their wave back. */
  forget(nodes: readonly NodeName[]): void {
    for (const node of nodes) {
      const wave = this.waveOf.get(node);
      if (wave === undefined || this.ended.has(node)) continue;
      this.waves[wave] = (this.waves[wave] ?? []).filter((n) => n !== node);
      this.waveOf.delete(node);
    }
    this.advance();
  }

  private advance(): void {
    while (this.haltedBecause === undefined) {
      const current = this.waves[this.open];
      if (current !== undefined) {
        if (!current.every((n) => this.ended.has(n)) || this.soaking) return;
        if (this.soaked < this.open) {
          this.emit({ type: "wave-done", wave: this.open + 1, failed: current.filter((n) => this.ended.get(n)) });
          if (this.open + 1 < this.waves.length && this.policy.soakMs !== undefined && this.soak !== undefined) {
            // The soak: the hosts switched so far run a while, then their checks run again.
            this.soaking = true;
            void this.soakThenAdvance(this.soak, this.policy.soakMs);
            return;
          }
          this.soaked = this.open;
        }
      }
      if (this.open + 1 >= this.waves.length) return;
      this.open++;
      this.emit({ type: "wave-start", wave: this.open + 1, of: this.waves.length, nodes: this.waves[this.open] ?? [] });
      for (const wake of this.waiting.get(this.open) ?? []) wake();
      this.waiting.delete(this.open);
    }
  }

  private async soakThenAdvance(soak: Soak, ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const failing = await soak().catch(() => []);
    for (const node of failing) {
      if (this.ended.get(node) === true) continue;
      this.ended.set(node, true);
      this.fail(node);
    }
    this.soaked = this.open;
    this.soaking = false;
    if (this.haltedBecause === undefined) this.advance();
  }

  private wakeAll(): void {
    for (const wakers of this.waiting.values()) for (const wake of wakers) wake();
    this.waiting.clear();
  }
}
