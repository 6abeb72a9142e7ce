import { groupChanges, type NodePlan } from "@hive/deploy";
import { bytes } from "./format.js";

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
