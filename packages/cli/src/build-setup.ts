import { availableParallelism, homedir } from "node:os";
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
  const table = plainTable(["node", "system", "built where", "to build", "to fetch"]);
  let nowhere = 0;
  for (const { node, placement } of nodes) {
    if (placement.kind === "nowhere") {
      nowhere++;
      table.push([node.name, node.buildSystem, `nowhere: ${placement.hint}`, "", ""]);
      continue;
    }
    if (placement.kind === "target") {
      table.push([node.name, node.buildSystem, describePlacement(placement), "(decided there)", ""]);
      continue;
    }
    const plan = await planBuild([node.drvPath], { substitute });
    table.push([
      node.name,
      node.buildSystem,
      describePlacement(placement),
      String(closureToBuild(plan.toBuild, node.drvPath).length),
      String(plan.toFetch),
    ]);
  }
  return { text: table.toString(), nowhere };
}
