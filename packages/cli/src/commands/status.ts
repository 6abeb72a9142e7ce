import type { Argv } from "yargs";
import { fleetStatus, type NodeStatus } from "@hive/deploy";
import { action } from "../report.js";
import { parallelOption } from "../parallel-option.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { interactiveSudoOption, sshTransports, sudoFrom, sshBackendOption, sshPool } from "../ssh-targets.js";
import { plainTable } from "../table.js";
import { ago, shortPath } from "../format.js";

type StatusArgs = Parameters<typeof openHive>[0] & {
  on?: string[] | undefined;
  "eval-node-limit": string;
  parallel: number;
  "interactive-sudo": boolean;
  ssh?: string | undefined;
  json: boolean;
  check: boolean;
};

function jsonStatus(s: NodeStatus): unknown {
  return {
    ...s,
    ...(s.since ? { since: s.since.toISOString() } : {}),
    ...(s.switchedAt ? { switchedAt: s.switchedAt.toISOString() } : {}),
  };
}

function table(rows: readonly NodeStatus[]): string {
  const t = plainTable(["node", "verdict", "gen", "switched", "by", "running", "why"]);
  const now = Date.now();
  for (const s of rows) {
    t.push([
      s.node,
      s.verdict,
      s.generation ?? "",
      s.switchedAt ? ago(s.switchedAt, now) : "",
      s.switchedBy ?? "",
      s.current ? shortPath(s.current) : "",
      `${s.reason ?? ""}${s.since ? ` (since ${ago(s.since, now)})` : ""}`,
    ]);
  }
  return t.toString();
}

/** Evaluates each node's desired system while probing every host in parallel, then judges each. */
async function statusOf(args: StatusArgs): Promise<NodeStatus[]> {
  const sudo = await sudoFrom(args);
  const hive = await openHive(args);
  const selected = await hive.select(nodeFilterFrom(args));
  const pool = sshPool(args);
  try {
    return await fleetStatus({
      hive,
      selected,
      evalLimits: evalLimitsFrom(args, selected.length),
      transportFor: sshTransports(pool, sudo),
      parallel: args.parallel,
    });
  } finally {
    await pool.closeAll();
  }
}

export function statusCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "status",
    "Show, per node, what it runs, who switched it and when, and whether it matches the hive",
    (c) =>
      withNodeFilter(withHiveOptions(c))
        .option("json", { type: "boolean", default: false, describe: "print JSON: one object per node" })
        .option("parallel", parallelOption(50, "hosts asked"))
        .option("interactive-sudo", interactiveSudoOption)
        .option("ssh", sshBackendOption)
        .option("check", {
          type: "boolean",
          default: false,
          describe: "exit 1 unless every selected node is up to date (for CI)",
        })
        .example("$0 status", "every node's verdict: up-to-date, drifted, unknown-profile, unreachable")
        .example("$0 status --on @web --json", "web nodes, as JSON for scripts")
        .example("$0 status --check", "fail a CI job when the fleet has drifted from the hive"),
    action(async (args) => {
      const rows = await statusOf(args);
      process.stdout.write(args.json ? `${JSON.stringify(rows.map(jsonStatus), null, 2)}\n` : `${table(rows)}\n`);
      const assessed = rows.every((r) => r.verdict !== "unreachable" && r.verdict !== "unknown");
      if (!assessed || (args.check && rows.some((r) => r.verdict !== "up-to-date")))
        process.exitCode = EXIT.nodesFailed;
    }),
  );
}
