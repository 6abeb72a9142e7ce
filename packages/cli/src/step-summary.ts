import { appendFile } from "node:fs/promises";
import type { NodeResult } from "@hive/core";
import type { NodeTimes } from "./node-times.js";

const MARK: Record<NodeResult["outcome"], string> = {
  succeeded: "✅",
  unchanged: "⏺️",
  failed: "❌",
  skipped: "⏭️",
};

/** Text for a Markdown table cell: one line, no column breaks, no HTML. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const seconds = (ms: number | undefined) => (ms === undefined ? "" : `${(ms / 1000).toFixed(1)} s`);

/**
 * A GitHub step summary of one run in Markdown: counts, then per node its outcome, the step it
 * ended at, its time and its system; failures' messages follow (they never carry secrets).
 */
export function stepSummary(
  title: string,
  results: readonly NodeResult[],
  times: NodeTimes,
  durationMs: number,
  runId: string,
): string {
  const counts = (["succeeded", "unchanged", "failed", "skipped"] as const)
    .map((o) => [o, results.filter((r) => r.outcome === o).length] as const)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${n} ${o}`)
    .join(", ");
  const rows = results.map(
    (r) =>
      `| ${cell(r.node)} | ${MARK[r.outcome]} ${r.outcome} | ${r.step ?? ""} | ${seconds(times.durationMs(r.node))} | ${r.system ? `\`${r.system}\`` : ""} |`,
  );
  const failures = results
    .filter((r) => r.outcome === "failed" && r.message !== undefined)
    .map(
      (r) =>
        `- **${cell(r.node)}**${r.step ? ` at ${r.step}` : ""}: ${cell(r.message ?? "")}${r.hint ? ` (hint: ${cell(r.hint)})` : ""}`,
    );
  return [
    `### hive ${title}: ${counts || "no nodes"} in ${seconds(durationMs)}`,
    "",
    "| node | outcome | step | time | system |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    ...(failures.length > 0 ? ["", ...failures] : []),
    "",
    `<sub>run ${runId}</sub>`,
    "",
  ].join("\n");
}

/** Appends the summary to $GITHUB_STEP_SUMMARY; a file that cannot be written is a warning. */
export async function writeStepSummary(path: string, markdown: string, warn: (message: string) => void): Promise<void> {
  try {
    await appendFile(path, `${markdown}\n`);
  } catch (error) {
    warn(`cannot write the step summary to ${path}: ${(error as Error).message}`);
  }
}
