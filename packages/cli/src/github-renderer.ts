import type { DeployEvent, NodeName } from "@hive/core";
import { rolloutLine } from "./rollout-text.js";

/** GitHub's workflow commands take %, CR and LF escaped in their values. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/**
 * `--log-format github`: for GitHub Actions logs, each node's lines in a collapsible group
 * (written when the node is done, so nodes do not interleave), and an error annotation for each
 * node that failed.
 */
export function githubRenderer(write: (line: string) => void): (event: DeployEvent) => void {
  const lines = new Map<NodeName, string[]>();
  const add = (node: NodeName, line: string) => {
    const list = lines.get(node) ?? [];
    list.push(line);
    lines.set(node, list);
  };
  return (event) => {
    switch (event.type) {
      case "step":
        add(event.node, `${event.step}${event.detail ? ` (${event.detail})` : ""}`);
        return;
      case "log":
        add(event.node, event.line);
        return;
      case "progress":
        return;
      case "warning":
        write(
          `::warning title=${escapeProperty(`hive${event.node ? `: ${event.node}` : ""}`)}::${escapeData(event.message)}`,
        );
        return;
      case "wave-start":
      case "wave-done":
        write(`::notice title=hive rollout::${escapeData(rolloutLine(event) ?? "")}`);
        return;
      case "halt":
        write(`::error title=hive rollout halted::${escapeData(rolloutLine(event) ?? "")}`);
        return;
      case "node-done": {
        write(`::group::${event.node}: ${event.outcome}`);
        for (const line of lines.get(event.node) ?? []) write(line);
        write("::endgroup::");
        lines.delete(event.node);
        if (event.outcome === "failed") {
          const title = `hive: ${event.node} failed${event.step ? ` at ${event.step}` : ""}`;
          write(`::error title=${escapeProperty(title)}::${escapeData(event.message ?? "failed")}`);
        }
        return;
      }
    }
  };
}
