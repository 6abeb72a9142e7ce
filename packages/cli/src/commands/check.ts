import type { Argv } from "yargs";
import { checkNodes, type CheckOutcome } from "@hive/deploy";
import { action } from "../report.js";
import { parallelOption } from "../parallel-option.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { interactiveSudoOption, sshTransports, sudoFrom, sshBackendOption, sshPool } from "../ssh-targets.js";

function line(r: CheckOutcome): string {
  switch (r.outcome) {
    case "passed":
      return `${r.node}: passed (${r.checks} check${r.checks === 1 ? "" : "s"})`;
    case "failed":
      return `${r.node}: failed: ${r.check}: ${r.output.replace(/\n/g, "\n    ")}`;
    case "skipped":
      return `${r.node}: skipped: ${r.reason}`;
  }
}

export function checkCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "check",
    "Run the selected nodes' health checks (deployment.healthChecks) against what they run now, deploying nothing",
    (c) =>
      withNodeFilter(withHiveOptions(c))
        .option("parallel", parallelOption(10, "nodes checked"))
        .option("interactive-sudo", interactiveSudoOption)
        .option("ssh", sshBackendOption)
        .example("$0 check --on @web", "are the web nodes healthy?"),
    action(async (args) => {
      const sudo = await sudoFrom(args);
      const hive = await openHive(args);
      const selected = await hive.select(nodeFilterFrom(args));
      const pool = sshPool(args);
      try {
        const results = await checkNodes({
          hive,
          selected,
          evalLimits: evalLimitsFrom(args, selected.length),
          transportFor: sshTransports(pool, sudo),
          parallel: args.parallel,
        });
        process.stdout.write(`${results.map(line).join("\n")}\n`);
        if (results.some((r) => r.outcome === "failed")) process.exitCode = EXIT.nodesFailed;
      } finally {
        await pool.closeAll();
      }
    }),
  );
}
