import { resolve } from "node:path";
import type { Argv } from "yargs";
import { HiveError } from "@hive/core";
import { action } from "../report.js";
import { openHive, withHiveOptions } from "../hive-options.js";

export function evalCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    ["eval [file]", "introspect"],
    "Evaluate a function of { nodes, pkgs, lib } against the hive and print the result as JSON",
    (c) =>
      withHiveOptions(c)
        .positional("file", { type: "string", describe: "a .nix file holding the function" })
        .option("expr", { alias: "E", type: "string", describe: "the function, inline" })
        .option("instantiate", {
          type: "boolean",
          default: false,
          describe: "instantiate the derivations it returns and print their .drv paths",
        })
        .example("$0 eval -E '{ nodes, ... }: builtins.attrNames nodes'", "node names")
        .example("$0 eval -E '{ nodes, ... }: nodes.web-1.config.networking.hostName'", "one option of one node")
        .example(
          "$0 eval --instantiate -E '{ nodes, ... }: nodes.web-1.config.system.build.toplevel'",
          "a node's system derivation",
        ),
    action(async (args) => {
      if ((args.file === undefined) === (args.expr === undefined)) {
        throw new HiveError("HIVE_USAGE", "hive eval takes a FILE or -E EXPR (exactly one)", {
          hint: "e.g. hive eval -E '{ nodes, pkgs, lib }: builtins.attrNames nodes'",
        });
      }
      const hive = await openHive(args);
      const expression = args.file !== undefined ? { file: resolve(args.file) } : { text: args.expr ?? "" };
      const result = await hive.introspect(expression, { instantiate: args.instantiate });
      process.stdout.write(`${JSON.stringify(result, null, process.stdout.isTTY ? 2 : undefined)}\n`);
    }),
  );
}
