import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Argv } from "yargs";
import { nixOptionArgs, runNixInteractive } from "@hive/nix";
import { action } from "../report.js";
import { nixOptionsFrom, openHive, withHiveOptions } from "../hive-options.js";

export function replCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "repl",
    "Start nix repl with the hive's nodes, pkgs and lib loaded",
    (c) => withHiveOptions(c).example("$0 repl", "then e.g. nodes.web-1.config.networking.hostName"),
    action(async (args) => {
      const hive = await openHive(args);
      const dir = await mkdtemp(join(tmpdir(), "hive-repl-"));
      try {
        const file = join(dir, "hive-repl.nix");
        await writeFile(file, `${await hive.replExpression()}\n`);
        process.exitCode = await runNixInteractive("nix", [
          "repl",
          "--impure",
          ...nixOptionArgs(nixOptionsFrom(args)),
          file,
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );
}
