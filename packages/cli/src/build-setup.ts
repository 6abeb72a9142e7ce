import { availableParallelism, homedir } from "node:os";
import PQueue from "p-queue";
import { join } from "node:path";
import {
  BuildScheduler,
  describePlacement,
  loadMachines,
  placeNode,
  planBuild,
  closureToBuild,
  type BuildCapabilities,
  type Placement,
} from "@hive/build";
import { HiveError, type DeployEvent, type NodeName } from "@hive/core";
import type { EvaluatedNode, Hive } from "@hive/eval";
import { localBuildSystems, nixOptionArgs } from "@hive/nix";
import { nixOptionsFrom, type HiveArgs } from "./hive-options.js";
import { plainTable } from "./table.js";

export interface BuildArgs extends HiveArgs {
  "max-jobs"?: number | undefined;
  cores?: number | undefined;
  builders?: string | undefined;
  "build-on-target"?: boolean | undefined;
  substitute: boolean;
}

/** What can build here: this machine's systems and the remote builders the run may use. */
export async function buildCapabilities(hive: Hive, args: BuildArgs): Promise<BuildCapabilities> {
  const localSystems = await localBuildSystems();
  const machines = await loadMachines(
    {
      builders: args.builders,
      machinesFile: hive.info.meta.machinesFile,
      hiveDir: hive.localDirectory ?? process.cwd(),
    },
    localSystems[0] ?? "unknown",
  );
  return { localSystems, machines };
}

/** Where a node is built in this run (--build-on-target overrides deployment.buildOnTarget). */
export function placementOf(node: EvaluatedNode, args: BuildArgs, capabilities: BuildCapabilities, pushes: boolean) {
  const onTarget = pushes && (args["build-on-target"] ?? node.deployment.buildOnTarget);
  return placeNode(node.buildSystem, onTarget, capabilities);
}

/** The error of a node nothing can build, raised before anything runs. */
export function nowhereError(node: NodeName, placement: Extract<Placement, { kind: "nowhere" }>): HiveError {
  return new HiveError("HIVE_BUILD_FAILED", `node ${node}: build: nothing can build it: ${placement.reason}`, {
    hint: placement.hint,
  });
}

/** Where each run's per-node build logs go. */
export function buildLogDir(run: string): string {
  const state = process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state");
  return join(state, "hive", "logs", run);
}

export function makeScheduler(
  args: BuildArgs,
  capabilities: BuildCapabilities,
  run: string,
  signal: AbortSignal,
  emit: (event: DeployEvent) => void,
): BuildScheduler {
  const maxJobs = args["max-jobs"] ?? availableParallelism();
  if (!Number.isInteger(maxJobs) || maxJobs < 1)
    throw new HiveError("HIVE_USAGE", "--max-jobs takes a whole number, at least 1");
  return new BuildScheduler({
    localSystems: capabilities.localSystems,
    machines: capabilities.machines,
    maxJobs,
    ...(args.cores !== undefined ? { cores: args.cores } : {}),
    substitute: args.substitute,
    nixArgs: nixOptionArgs(nixOptionsFrom(args)).filter((a) => a !== "--show-trace"),
    logDir: buildLogDir(run),
    signal,
    onProgress: (p) => emit({ type: "build-progress", ...p }),
    onLog: (node, line) => emit({ type: "log", node, step: "build", line }),
  });
}

/** `--dry-run`: per node, where it would be built and how much that takes; nothing runs. */
export async function dryRunTable(
  nodes: readonly { node: EvaluatedNode; placement: Placement }[],
  substitute: boolean,
): Promise<{ text: string; nowhere: number }> {
  // One dry run per node (to count its own builds and fetches), a few at a time.
  const queue = new PQueue({ concurrency: Math.max(1, availableParallelism()) });
  const rows = await Promise.all(
    nodes.map(({ node, placement }) =>
      queue.add(async (): Promise<string[]> => {
        const where = describePlacement(placement);
        if (placement.kind === "nowhere") return [node.name, node.buildSystem, `nowhere: ${placement.hint}`, "", ""];
        if (placement.kind === "target") return [node.name, node.buildSystem, where, "(decided there)", ""];
        const plan = await planBuild([node.drvPath], { substitute });
        const builds = closureToBuild(plan.toBuild, node.drvPath).length;
        return [node.name, node.buildSystem, where, String(builds), String(plan.toFetch)];
      }),
    ),
  );
  const table = plainTable(["node", "system", "built where", "to build", "to fetch"]);
  table.push(...rows);
  return { text: table.toString(), nowhere: nodes.filter((n) => n.placement.kind === "nowhere").length };
}
