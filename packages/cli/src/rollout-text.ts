import type { DeployEvent } from "@hive/core";

/** A staged rollout's events as one line each, for every renderer; undefined for other events. */
export function rolloutLine(event: DeployEvent): string | undefined {
  switch (event.type) {
    case "wave-start":
      return `wave ${event.wave} of ${event.of}: ${event.nodes.join(", ")}`;
    case "wave-done":
      return `wave ${event.wave} done${event.failed.length > 0 ? `; failed: ${event.failed.join(", ")}` : ""}`;
    case "halt":
      return `rollout halted: ${event.reason}; no new host starts`;
    default:
      return undefined;
  }
}
