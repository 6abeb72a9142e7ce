import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { describePlacement, loadMachines, type BuildCapabilities } from "@hive/build";
import { HiveError } from "@hive/core";
import type { DryRunRow } from "@hive/deploy";
import type { Hive } from "@hive/eval";
import { localBuildSystems, nixOptionArgs } from "@hive/nix";
import { configText, defaultConfigSources, setsStrictness } from "@hive/ssh";
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
export async function buildCapabilities(
  hive: Hive,
  args: BuildArgs,
  systems: Promise<string[]> = localBuildSystems(),
): Promise<BuildCapabilities> {
  const localSystems = await systems;
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

/** Where each run's per-node build logs go. */
export function buildLogDir(run: string): string {
  const state = process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state");
  return join(state, "hive", "logs", run);
}

/** The build scheduler's settings from the command line (the run makes the scheduler). */
export function schedulerOptions(args: BuildArgs, capabilities: BuildCapabilities, run: string) {
  const maxJobs = args["max-jobs"] ?? availableParallelism();
  if (!Number.isInteger(maxJobs) || maxJobs < 1)
    throw new HiveError("HIVE_USAGE", "--max-jobs takes a whole number, at least 1");
  return {
    localSystems: capabilities.localSystems,
    machines: capabilities.machines,
    maxJobs,
    ...(args.cores !== undefined ? { cores: args.cores } : {}),
    substitute: args.substitute,
    nixArgs: nixOptionArgs(nixOptionsFrom(args)).filter((a) => a !== "--show-trace"),
    logDir: buildLogDir(run),
    env: sshOptionsForNix(),
  };
}

/**
 * Nix's build hook reaches builders with OpenSSH: through the same ssh_config as hive's targets
 * (SSH_CONFIG_FILE when set) and the same host key policy: never a prompt, and hive's default,
 * accept-new, where no config sets StrictHostKeyChecking (OpenSSH's own default would refuse a
 * builder it has not met). NIX_SSHOPTS, when set, is the operator's and is left alone.
 */
function sshOptionsForNix(): Record<string, string> {
  if (process.env.NIX_SSHOPTS !== undefined) return { NIX_SSHOPTS: process.env.NIX_SSHOPTS };
  const { userConfig, systemConfig } = defaultConfigSources();
  const config = process.env.SSH_CONFIG_FILE;
  const options = [
    ...(config ? ["-F", config] : []),
    "-o",
    "BatchMode=yes",
    ...(setsStrictness([userConfig, systemConfig].map(configText)) ? [] : ["-o", "StrictHostKeyChecking=accept-new"]),
  ];
  return { NIX_SSHOPTS: options.join(" ") };
}

/** `--dry-run`: per node, where it would be built and how much that takes. */
export function dryRunTable(rows: readonly DryRunRow[]): string {
  const table = plainTable(["node", "system", "built where", "to build", "to fetch"]);
  for (const row of rows) {
    const { placement } = row;
    if (placement.kind === "nowhere") table.push([row.node, row.system, `nowhere: ${placement.hint}`, "", ""]);
    else if (placement.kind === "target")
      table.push([row.node, row.system, describePlacement(placement), "(decided there)", ""]);
    else
      table.push([
        row.node,
        row.system,
        describePlacement(placement),
        String(row.toBuild ?? ""),
        String(row.toFetch ?? ""),
      ]);
  }
  return table.toString();
}
