import yargs, { type Argv } from "yargs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const HIVE_VERSION: string = (require("../package.json") as { version: string }).version;

/** The hive command line. Commands arrive with the features that implement them. */
export function buildCli(argv: readonly string[]): Argv {
  return yargs([...argv])
    .scriptName("hive")
    .usage("$0 <command> [options]\n\nDeploy NixOS configurations from a Colmena-style hive to a fleet of machines.")
    .version(HIVE_VERSION)
    .help()
    .alias("h", "help")
    .strict()
    .strictCommands()
    .demandCommand(1, "name a command")
    .check((args) => {
      const [unknown] = args._;
      if (unknown !== undefined) throw new Error(`unknown command ${JSON.stringify(String(unknown))}`);
      return true;
    })
    .epilogue("Exit codes: 0 success, 1 failure, 2 usage error.")
    .wrap(null);
}
