import type { Argv } from "yargs";
import type { NodeConfig, HiveError } from "@hive/core";
import { action } from "../report.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { printError } from "../report.js";
import { plainTable } from "../table.js";

type Row = { node: NodeConfig; error?: undefined } | { node?: undefined; name: string; error: HiveError };

function target(node: NodeConfig): string {
  const { targetHost, targetPort, targetUser } = node.deployment;
  if (targetHost === null) return "(local only)";
  return `${targetUser === null ? "" : `${targetUser}@`}${targetHost}${targetPort === null ? "" : `:${targetPort}`}`;
}

function jsonRow(row: Row): unknown {
  if (row.node === undefined) return { name: row.name, error: { code: row.error.code, message: row.error.message } };
  const d = row.node.deployment;
  return {
    name: row.node.name,
    targetHost: d.targetHost,
    targetPort: d.targetPort,
    targetUser: d.targetUser,
    tags: d.tags,
    build: d.buildOnTarget ? "target" : "local",
    allowLocalDeployment: d.allowLocalDeployment,
    keys: Object.keys(d.keys).sort(),
    ...(row.node.sources === undefined ? {} : { sources: row.node.sources }),
  };
}

/** Which fields the node and which the inventory set, e.g. "node: tags; hive.yaml: targetHost:4 keys.token:9". */
function setBy(node: NodeConfig): string {
  const bySource = new Map<string, string[]>();
  for (const [field, source] of Object.entries(node.sources ?? {})) {
    const at = source.lastIndexOf(":");
    const [file, shown] = at < 0 ? [source, field] : [source.slice(0, at), `${field}:${source.slice(at + 1)}`];
    bySource.set(file, [...(bySource.get(file) ?? []), shown]);
  }
  return [...bySource].map(([file, fields]) => `${file}: ${fields.join(" ")}`).join("; ");
}

function table(rows: readonly Row[], inventory: boolean): string {
  const t = plainTable(["node", "target", "tags", "build", "keys", ...(inventory ? ["set by"] : [])]);
  for (const row of rows) {
    if (row.node === undefined) {
      t.push([row.name, { colSpan: inventory ? 5 : 4, content: "evaluation failed (see below)" }]);
    } else {
      const d = row.node.deployment;
      t.push([
        row.node.name,
        target(row.node),
        d.tags.join(" "),
        d.buildOnTarget ? "target" : "local",
        Object.keys(d.keys).sort().join(" "),
        ...(inventory ? [setBy(row.node)] : []),
      ]);
    }
  }
  return t.toString();
}

export function nodesCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "nodes",
    "List the selected nodes: target, tags, build location, key names (never key contents) and, with a hive.yaml, which fields it set",
    (c) =>
      withNodeFilter(withHiveOptions(c))
        .option("json", { type: "boolean", describe: "print JSON (the default when stdout is not a terminal)" })
        .example("$0 nodes", "every node, as a table on a terminal")
        .example("$0 nodes --on '@web,!web-3' --json", "web nodes but web-3, as JSON"),
    action(async (args) => {
      const hive = await openHive(args);
      const selected = await hive.select(nodeFilterFrom(args));
      const results = new Map<string, Row>();
      await hive.nodeConfigs(
        selected,
        (o) => results.set(o.node, o.ok ? { node: o.value } : { name: o.node, error: o.error }),
        { limits: evalLimitsFrom(args, selected.length) },
      );
      const rows = selected.map((name) => results.get(name)).filter((r): r is Row => r !== undefined);
      const json = args.json ?? !process.stdout.isTTY;
      process.stdout.write(
        json ? `${JSON.stringify(rows.map(jsonRow), null, 2)}\n` : `${table(rows, hive.inventory !== undefined)}\n`,
      );
      const failed = rows.flatMap((r) => (r.error === undefined ? [] : [r.error]));
      for (const error of failed) printError(error.message);
      if (failed.length > 0) process.exitCode = EXIT.nodesFailed;
    }),
  );
}
