import { HiveError, type DeployStep, type NodeName } from "@hive/core";
import type { Deployment, DeployNode, NodeSummary } from "@hive/deploy";
import type { ChunkOptions, EvaluatedNode, Hive } from "@hive/eval";
import type { BuildCapabilities, Placement } from "@hive/build";
import { dryRunTable, placementOf } from "../build-setup.js";
import { EXIT } from "../exit-codes.js";
import { printError } from "../report.js";
import type { ApplyArgs } from "./apply-options.js";

/** Evaluation's results, kept so that a second stage can deploy the same nodes without evaluating again. */
export class EvaluatedNodes {
  readonly nodes = new Map<NodeName, DeployNode>();
  readonly failures: { node: NodeName; error: HiveError; step: DeployStep }[] = [];
  constructor(private readonly into: Deployment) {}
  add = (node: DeployNode): void => {
    this.nodes.set(node.name, node);
    this.into.add(node);
  };
  fail = (node: NodeName, error: HiveError, step: DeployStep = "evaluate"): void => {
    this.failures.push({ node, error, step });
    this.into.fail(node, step, error);
  };
  /** Feeds the nodes that built into a deployment, and fails the rest there as they failed here. */
  replay(into: Deployment, built: readonly NodeSummary[]): void {
    for (const { node, error, step } of this.failures) into.fail(node, step, error);
    for (const summary of built) {
      const node = this.nodes.get(summary.node);
      if (summary.outcome === "failed" && !this.failures.some((f) => f.node === summary.node))
        into.fail(
          summary.node,
          summary.step ?? "build",
          new HiveError(summary.code ?? "HIVE_BUILD_FAILED", summary.message ?? "failed"),
        );
      else if (node !== undefined && summary.outcome !== "failed") into.add(node);
    }
  }
}

/** --dry-run: where each node would be built and what that takes; nothing is built or pushed. */
export async function dryRun(
  hive: Hive,
  selected: readonly NodeName[],
  args: ApplyArgs,
  capabilities: BuildCapabilities,
  evalOptions: ChunkOptions,
  pushes: boolean,
): Promise<void> {
  const nodes = new Map<NodeName, { node: EvaluatedNode; placement: Placement }>();
  const failures: HiveError[] = [];
  await hive.evaluate(
    selected,
    (o) => {
      if (o.ok) nodes.set(o.node, { node: o.value, placement: placementOf(o.value, args, capabilities, pushes) });
      else failures.push(o.error);
    },
    evalOptions,
  );
  const ordered = selected.flatMap((n) => nodes.get(n) ?? []);
  const { text, nowhere } = await dryRunTable(ordered, args.substitute);
  process.stdout.write(`${text}\n`);
  for (const error of failures) printError(error.message, error.hint);
  if (nowhere > 0 || failures.length > 0) process.exitCode = EXIT.nodesFailed;
}
