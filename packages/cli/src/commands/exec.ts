import PQueue from "p-queue";
import type { Argv } from "yargs";
import { HiveError, isHiveError, type NodeConfig, type NodeName } from "@hive/core";
import { SshTransportPool } from "@hive/ssh";
import { action } from "../report.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { LinePrefixer } from "../line-prefixer.js";
import { sshTargetOf } from "../ssh-targets.js";

type NodeResult =
  | { node: NodeName; outcome: "exit"; code: number | null; signal: string | null }
  | { node: NodeName; outcome: "skipped" | "failed"; reason: string };

function summarize(results: readonly NodeResult[]): string {
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
        .option("parallel", { alias: "p", type: "number", default: 10, describe: "nodes at once" })
        .example("$0 exec --on @web -- systemctl restart nginx", "restart nginx on every web node")
        .example("$0 exec -p 50 -- uptime", "ask every node, 50 at a time"),
    action(async (args) => {
      const argv = [...(args.command ?? []), ...((args as { "--"?: unknown[] })["--"] ?? [])].map(String);
      if (argv.length === 0)
        throw new HiveError("HIVE_USAGE", "hive exec needs a command", {
          hint: "e.g. hive exec --on @web -- systemctl status nginx",
        });
      if (!Number.isInteger(args.parallel) || args.parallel < 1)
        throw new HiveError("HIVE_USAGE", "--parallel takes a whole number of nodes, at least 1");
      const hive = await openHive(args);
      const selected = await hive.select(nodeFilterFrom(args));
      const configs: NodeConfig[] = [];
      const results: NodeResult[] = [];
      await hive.nodeConfigs(
        selected,
        (o) =>
          o.ok ? configs.push(o.value) : results.push({ node: o.node, outcome: "failed", reason: o.error.message }),
        {
          limits: evalLimitsFrom(args, selected.length),
        },
      );
      const pool = new SshTransportPool();
      const width = Math.max(...selected.map((n) => n.length));
      const queue = new PQueue({ concurrency: args.parallel });
      try {
        for (const node of configs) {
          const target = sshTargetOf(node);
          if (target === undefined) {
            results.push({
              node: node.name,
              outcome: "skipped",
              reason: "deployment.targetHost is null (not reachable over SSH)",
            });
            continue;
          }
          void queue.add(async () => {
            const prefix = `${node.name.padEnd(width)} | `;
            const out = new LinePrefixer(prefix, (t) => process.stdout.write(t));
            const err = new LinePrefixer(prefix, (t) => process.stderr.write(t));
            try {
              const transport = pool.transportFor(target, node.deployment.privilegeEscalationCommand);
              const r = await transport.exec(argv, { onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) });
              results.push({ node: node.name, outcome: "exit", code: r.exitCode, signal: r.signal });
            } catch (error) {
              if (!isHiveError(error)) throw error;
              results.push({ node: node.name, outcome: "failed", reason: error.message });
            } finally {
              out.flush();
              err.flush();
            }
          });
        }
        await queue.onIdle();
      } finally {
        await pool.closeAll();
      }
      results.sort((a, b) => selected.indexOf(a.node) - selected.indexOf(b.node));
      process.stderr.write(`\n${summarize(results)}\n`);
      if (results.some((r) => r.outcome === "failed" || (r.outcome === "exit" && r.code !== 0)))
        process.exitCode = EXIT.nodesFailed;
    }),
  );
}
