import PQueue from "p-queue";
import { isHiveError, type NodeName, type StorePath, type Transport } from "@hive/core";
import { closureOf } from "@hive/nix";
import { diffClosures, type ClosureDiff } from "./closure-diff.js";
import { closureWithSizes } from "./closure-sizes.js";
import { Host } from "./host.js";

/** What deploying a node changes: against the system it runs, or a first deploy, or nothing. */
export type NodePlan =
  | { node: NodeName; kind: "unchanged"; system: string }
  | { node: NodeName; kind: "change"; system: string; current: string | undefined; diff: ClosureDiff }
  | { node: NodeName; kind: "error"; message: string };

export interface PlannedNode {
  node: NodeName;
  system: StorePath;
  transport: Transport;
}

/** Diffs each node's new system against what its host runs, a few hosts at a time. */
export async function planChanges(nodes: readonly PlannedNode[], parallel: number): Promise<NodePlan[]> {
  const queue = new PQueue({ concurrency: parallel });
  return Promise.all(
    nodes.map(({ node, system, transport }) =>
      queue.add(async (): Promise<NodePlan> => {
        const host = new Host(transport, node);
        try {
          const current = await host.readLink("/run/current-system");
          if (current === system) return { node, kind: "unchanged", system };
          const [before, after] = await Promise.all([
            current === undefined ? [] : closureWithSizes(host, current),
            closureOf([system]).then((infos) => infos.map((i) => ({ path: i.path, size: i.narSize }))),
          ]);
          return { node, kind: "change", system, current, diff: diffClosures(before, after) };
        } catch (error) {
          if (!isHiveError(error)) throw error;
          return { node, kind: "error", message: error.message };
        }
      }),
    ),
  );
}
