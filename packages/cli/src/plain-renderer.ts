import type { DeployEvent } from "@hive/core";
import { rolloutLine } from "./rollout-text.js";

/** Renders deploy events as plain lines prefixed by node (for logs, CI and non-terminals). */
export function plainRenderer(
  write: (line: string) => void,
  { verbose }: { verbose: boolean },
): (event: DeployEvent) => void {
  const lastPercent = new Map<string, number>();
  const lastBuild = new Map<string, string>();
  return (event) => {
    switch (event.type) {
      case "step":
        write(`${event.node} | ${event.step}${event.detail ? ` (${event.detail})` : ""}`);
        return;
      case "progress": {
        if (event.totalBytes === undefined || event.totalBytes === 0) return;
        const percent = Math.floor((event.bytes / event.totalBytes) * 4) * 25;
        if (percent === lastPercent.get(event.node) || percent === 0) return;
        lastPercent.set(event.node, percent);
        write(`${event.node} | ${event.step}: ${percent}% of ${(event.totalBytes / 1024 / 1024).toFixed(1)} MiB`);
        return;
      }
      case "build-progress": {
        // A line when a derivation starts or finishes building.
        const state = `${event.done} ${event.building.join(",")}`;
        if (event.total === 0 || lastBuild.get(event.node) === state) return;
        lastBuild.set(event.node, state);
        write(
          `${event.node} | build: ${event.done} of ${event.total} derivations built${event.building.length > 0 ? ` (building ${event.building.join(", ")})` : ""}`,
        );
        return;
      }
      case "log":
        if (verbose || event.step === "activate") write(`${event.node} | ${event.line}`);
        return;
      case "warning":
        write(`${event.node ?? "hive"} | warning: ${event.message}`);
        return;
      case "node-done":
        write(
          `${event.node} | ${event.outcome}${event.step && event.outcome !== "succeeded" ? ` at ${event.step}` : ""}`,
        );
        return;
      case "wave-start":
      case "wave-done":
      case "halt":
        write(`hive | ${rolloutLine(event) ?? ""}`);
        return;
    }
  };
}
