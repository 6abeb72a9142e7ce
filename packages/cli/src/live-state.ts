import type { DeployEvent, NodeName, NodeOutcomeKind } from "@hive/core";

export interface NodeRow {
  node: NodeName;
  /** The step it is at, or undefined while it waits for its first. */
  step: string | undefined;
  detail: string | undefined;
  progress: { bytes: number; totalBytes: number } | undefined;
  /** Derivations built of those the node needs, and what builds now. */
  build: { done: number; total: number; building: string[] } | undefined;
  outcome: NodeOutcomeKind | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** The last log lines, shown when the node fails. */
  tail: string[];
}

export interface Counts {
  running: number;
  done: number;
  failed: number;
  waiting: number;
}

const TAIL_LINES = 8;

/** The live view's model: one row per node, updated from deploy events. No drawing here. */
export class LiveState {
  readonly rows = new Map<NodeName, NodeRow>();

  expect(nodes: readonly NodeName[]): void {
    for (const node of nodes) this.row(node);
  }

  row(node: NodeName): NodeRow {
    let row = this.rows.get(node);
    if (row === undefined) {
      row = {
        node,
        step: undefined,
        detail: undefined,
        progress: undefined,
        build: undefined,
        outcome: undefined,
        startedAt: undefined,
        finishedAt: undefined,
        tail: [],
      };
      this.rows.set(node, row);
    }
    return row;
  }

  /** Applies an event; returns the row it changed, if any. */
  apply(event: DeployEvent, now: number): NodeRow | undefined {
    if (!("node" in event)) return undefined;
    const row = this.row(event.node);
    row.startedAt ??= now;
    switch (event.type) {
      case "step":
        row.step = event.step;
        row.detail = event.detail;
        row.progress = undefined;
        break;
      case "progress":
        row.step = event.step;
        row.progress = event.totalBytes ? { bytes: event.bytes, totalBytes: event.totalBytes } : undefined;
        break;
      case "log":
        row.tail.push(event.line);
        if (row.tail.length > TAIL_LINES) row.tail.shift();
        break;
      case "node-done":
        row.outcome = event.outcome;
        row.finishedAt = now;
        if (event.step !== undefined) row.step = event.step;
        break;
      case "build-progress":
        row.step = "build";
        row.build = { done: event.done, total: event.total, building: event.building };
        break;
      case "warning":
        break;
    }
    return row;
  }

  counts(): Counts {
    const counts: Counts = { running: 0, done: 0, failed: 0, waiting: 0 };
    for (const row of this.rows.values()) {
      if (row.outcome === "failed") counts.failed++;
      else if (row.outcome !== undefined) counts.done++;
      else if (row.step === undefined) counts.waiting++;
      else counts.running++;
    }
    return counts;
  }
}
