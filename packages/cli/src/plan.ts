import PQueue from "p-queue";
import { isHiveError, type NodeName, type StorePath, type Transport } from "@hive/core";
import { closureWithSizes, diffClosures, groupChanges, readRemoteLink, type ClosureDiff } from "@hive/deploy";
import { closureOf } from "@hive/nix";
import { bytes } from "./format.js";

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
export async function planNodes(nodes: readonly PlannedNode[], parallel: number): Promise<NodePlan[]> {
  const queue = new PQueue({ concurrency: parallel });
  return Promise.all(
    nodes.map(({ node, system, transport }) =>
      queue.add(async (): Promise<NodePlan> => {
        try {
          const current = await readRemoteLink(transport, "/run/current-system");
          if (current === system) return { node, kind: "unchanged", system };
          const [before, after] = await Promise.all([
            current === undefined ? [] : closureWithSizes(transport, node, current),
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

function nodeLine(plan: NodePlan): string {
  switch (plan.kind) {
    case "unchanged":
      return `${plan.node}: unchanged`;
    case "error":
      return `${plan.node}: cannot tell: ${plan.message.replace(/\n/g, " ")}`;
    case "change": {
      const d = plan.diff;
      const size = `${bytes(d.newSize - d.oldSize, true)}, now ${bytes(d.newSize)}`;
      if (plan.current === undefined) return `${plan.node}: first deploy: ${d.pathsAdded} paths (${bytes(d.newSize)})`;
      const rebuilt = d.rebuilt > 0 ? `, ${d.rebuilt} rebuilt` : "";
      return `${plan.node}: ${d.changes.length} package changes${rebuilt}; ${d.pathsAdded} paths added, ${d.pathsRemoved} removed (${size})`;
    }
  }
}

function nodeList(nodes: readonly string[]): string {
  const shown = nodes.slice(0, 6).join(", ");
  return `${nodes.length} node${nodes.length === 1 ? "" : "s"} (${shown}${nodes.length > 6 ? ", …" : ""})`;
}

/** The plan for people: a line per node, then each package change once with the nodes it touches. */
export function renderPlan(plans: readonly NodePlan[]): string {
  const changing = plans.filter((p) => p.kind === "change");
  const diffs = new Map(changing.filter((p) => p.current !== undefined).map((p) => [p.node, p.diff]));
  const groups = groupChanges(diffs);
  const lines = [
    `${changing.length} of ${plans.length} node${plans.length === 1 ? "" : "s"} change:`,
    ...plans.map((p) => `  ${nodeLine(p)}`),
  ];
  if (groups.length > 0) lines.push("Package changes:", ...groups.map((g) => `  ${nodeList(g.nodes)}: ${g.change}`));
  return lines.join("\n");
}

/** The plan for scripts. */
export function planJson(plans: readonly NodePlan[]): unknown {
  const diffs = new Map(
    plans.flatMap((p) => (p.kind === "change" && p.current !== undefined ? [[p.node, p.diff]] : [])),
  );
  return { nodes: plans, changes: groupChanges(diffs) };
}
