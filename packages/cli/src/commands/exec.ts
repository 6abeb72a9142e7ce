import type { Argv } from "yargs";
import { HiveError, type NodeName } from "@hive/core";
import { execOnNodes, type ExecOutcome } from "@hive/deploy";
import { action } from "../report.js";
import { parallelOption } from "../parallel-option.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { LinePrefixer } from "../line-prefixer.js";
import { interactiveSudoOption, sshTransports, sudoFrom, sshBackendOption, sshPool } from "../ssh-targets.js";

function summarize(results: readonly ExecOutcome[]): string {
  return results
    .map((r) => {
      if (r.outcome === "exit")
        return `${r.node}: ${r.code === 0 ? "ok" : r.code === null ? `killed by ${r.signal ?? "a signal"}` : `exit ${r.code}`}`;
      return `${r.node}: ${r.outcome}: ${r.reason}`;
    })
    .join("\n");
}

export function execCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "exec [command..]",
    "Run a command on the selected nodes over SSH, output prefixed by node",
    (c) =>
      withNodeFilter(withHiveOptions(c))
        .positional("command", {
          type: "string",
          array: true,
          describe: "the command and its arguments, after -- (e.g. -- ls -la /)",
        })
        .option("parallel", parallelOption(10, "nodes"))
        .option("interactive-sudo", interactiveSudoOption)
        .option("ssh", sshBackendOption)
        .option("verbose", {
          alias: "v",
          type: "boolean",
          default: false,
          describe: "accepted for Colmena: hive exec always prints every line, prefixed by node",
        })
        .example("$0 exec --on @web -- systemctl restart nginx", "restart nginx on every web node")
        .example("$0 exec -p 50 -- uptime", "ask every node, 50 at a time"),
    action(async (args) => {
      const argv = [...(args.command ?? []), ...((args as { "--"?: unknown[] })["--"] ?? [])].map(String);
      if (argv.length === 0)
        throw new HiveError("HIVE_USAGE", "hive exec needs a command", {
          hint: "e.g. hive exec --on @web -- systemctl status nginx",
        });
      const sudo = await sudoFrom(args);
      const hive = await openHive(args);
      const selected = await hive.select(nodeFilterFrom(args));
      const width = Math.max(...selected.map((n) => n.length));
      const prefixers = new Map<NodeName, { stdout: LinePrefixer; stderr: LinePrefixer }>();
      const prefixed = (node: NodeName) => {
        let p = prefixers.get(node);
        if (p === undefined) {
          const prefix = `${node.padEnd(width)} | `;
          p = {
            stdout: new LinePrefixer(prefix, (t) => process.stdout.write(t)),
            stderr: new LinePrefixer(prefix, (t) => process.stderr.write(t)),
          };
          prefixers.set(node, p);
        }
        return p;
      };
      const pool = sshPool(args);
      let results: ExecOutcome[];
      try {
        results = await execOnNodes({
          hive,
          selected,
          evalLimits: evalLimitsFrom(args, selected.length),
          transportFor: sshTransports(pool, sudo),
          parallel: args.parallel,
          argv,
          onOutput: (node, stream, chunk) => prefixed(node)[stream].push(chunk),
          onDone: (node) => {
            prefixers.get(node)?.stdout.flush();
            prefixers.get(node)?.stderr.flush();
          },
        });
      } finally {
        await pool.closeAll();
      }
      process.stderr.write(`\n${summarize(results)}\n`);
      if (results.some((r) => r.outcome === "failed" || (r.outcome === "exit" && r.code !== 0)))
        process.exitCode = EXIT.nodesFailed;
    }),
  );
}
