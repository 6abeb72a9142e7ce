import { HiveError, parseNodeFilter, type NodeName } from "@hive/core";
import type { RolloutPolicy } from "@hive/deploy";
import type { Hive } from "@hive/eval";

export interface RolloutArgs {
  canary?: string | undefined;
  waves?: string | undefined;
  "max-failures"?: string | undefined;
  soak?: string | undefined;
}

/** `--soak`: seconds, or a duration such as 30s, 2m. */
function soakMs(text: string): number {
  const match = /^(\d+)(s|m)?$/.exec(text.trim());
  if (match === null)
    throw usage(`--soak ${JSON.stringify(text)} is not a duration`, "e.g. --soak 30 (seconds), --soak 2m");
  return Number(match[1]) * (match[2] === "m" ? 60_000 : 1000);
}

function usage(message: string, hint: string): HiveError {
  return new HiveError("HIVE_USAGE", message, { hint });
}

/** Wave sizes from `--waves`: `N`, a schedule `1,2,4`, or shares of the nodes left `10%,50%`. */
function waveSizes(text: string, nodes: number): number[] {
  return text.split(",").map((part) => {
    const match = /^\s*(\d+)(%?)\s*$/.exec(part);
    const value = Number(match?.[1]);
    if (match === null || value < 1 || (match[2] === "%" && value > 100))
      throw usage(
        `--waves ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a wave size`,
        "e.g. --waves 5, --waves 1,2,4 or --waves 10%,50%",
      );
    return match[2] === "%" ? Math.max(1, Math.ceil((value / 100) * nodes)) : value;
  });
}

/**
 * The staged rollout the command line asks for, over the selected nodes (in their order), or
 * undefined for all at once. `--canary` takes a count (the first nodes) or names, globs and
 * @tags; `--max-failures` a count or a share of the nodes.
 */
export async function rolloutPolicyFrom(
  args: RolloutArgs,
  hive: Hive,
  selected: readonly NodeName[],
): Promise<RolloutPolicy | undefined> {
  if (
    args.canary === undefined &&
    args.waves === undefined &&
    args["max-failures"] === undefined &&
    args.soak === undefined
  )
    return undefined;
  let canary: NodeName[] = [];
  if (args.canary !== undefined) {
    if (/^\d+$/.test(args.canary)) canary = selected.slice(0, Number(args.canary));
    else {
      const chosen = new Set(await hive.select(parseNodeFilter([args.canary])));
      canary = selected.filter((n) => chosen.has(n));
    }
    if (canary.length === 0)
      throw usage(
        `--canary ${JSON.stringify(args.canary)} picks none of the nodes being deployed`,
        "a count (--canary 1), or node names, globs and @tags among those selected with --on",
      );
  }
  const waves = args.waves === undefined ? [] : waveSizes(args.waves, selected.length - canary.length);
  let maxFailures = Number.MAX_SAFE_INTEGER;
  const budget = args["max-failures"];
  if (budget !== undefined) {
    const match = /^(\d+)(%?)$/.exec(budget.trim());
    if (match === null || (match[2] === "%" && Number(match[1]) > 100))
      throw usage(
        `--max-failures ${JSON.stringify(budget)} is not a count or a percentage`,
        "e.g. --max-failures 0, or --max-failures 10%",
      );
    maxFailures = match[2] === "%" ? Math.floor((Number(match[1]) / 100) * selected.length) : Number(match[1]);
  }
  return { canary, waves, maxFailures, ...(args.soak !== undefined ? { soakMs: soakMs(args.soak) } : {}) };
}
