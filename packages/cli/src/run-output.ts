import { createInterface } from "node:readline/promises";
import type { DeployEvent, NodeName } from "@hive/core";
import type { NodeResult } from "@hive/core";
import { colours, useColour } from "./colour.js";
import { githubRenderer } from "./github-renderer.js";
import type { jsonRenderer } from "./json-renderer.js";
import { LiveRenderer } from "./live-renderer.js";
import { plainRenderer } from "./plain-renderer.js";
import type { ApplyArgs } from "./commands/apply-options.js";

/** The last lines of a run, one per node. */
export function summaryLine(s: NodeResult): string {
  switch (s.outcome) {
    case "succeeded":
      return `${s.node}: succeeded${s.system ? ` (${s.system})` : ""}`;
    case "unchanged":
      return `${s.node}: unchanged (already running ${s.system ?? "the system"})`;
    case "skipped":
      return `${s.node}: skipped: ${s.message ?? ""}`;
    case "failed":
      return `${s.node}: failed at ${s.step ?? "?"}: ${(s.message ?? "").replace(/\n/g, "\n    ")}${s.hint ? `\n    hint: ${s.hint}` : ""}`;
  }
}

/** Summary lines, with the outcome coloured where stdout takes colour. */
export function summaryPainter(args: ApplyArgs): (s: NodeResult) => string {
  const c = colours(useColour(args.color, process.stdout));
  const paint = { succeeded: c.green, unchanged: c.dim, skipped: c.yellow, failed: c.red };
  return (s) => {
    const line = summaryLine(s);
    const at = s.node.length + 2;
    return `${line.slice(0, at)}${paint[s.outcome](line.slice(at, at + s.outcome.length))}${line.slice(at + s.outcome.length)}`;
  };
}

/** Where deploy events go for one stage: NDJSON, a live view, GitHub groups or plain lines. */
export function stageRenderer(
  args: ApplyArgs,
  json: ReturnType<typeof jsonRenderer> | undefined,
  title: string,
  nodes: readonly NodeName[],
) {
  const live =
    json === undefined && args["log-format"] === "auto" && process.stderr.isTTY && !args.verbose
      ? new LiveRenderer(process.stderr, { title, colour: useColour(args.color, process.stderr) })
      : undefined;
  live?.expect(nodes);
  const plain = json === undefined && live === undefined && args["log-format"] !== "github";
  // Plain lines start by saying what runs, as the live view's header does.
  if (plain) process.stderr.write(`hive ${title}: ${nodes.length} node${nodes.length === 1 ? "" : "s"}\n`);
  const onEvent: (event: DeployEvent) => void =
    json?.onEvent ??
    live?.onEvent ??
    (args["log-format"] === "github"
      ? githubRenderer((line) => process.stdout.write(`${line}\n`))
      : plainRenderer((line) => process.stderr.write(`${line}\n`), { verbose: args.verbose }));
  return { onEvent, finish: () => live?.finish() };
}

/** Asks on the terminal; anything but y/yes is a no. */
export async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
