import yargs, { type Argv } from "yargs";
import { HIVE_VERSION } from "./version.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { applyCommand } from "./commands/apply.js";
import { evalCommand } from "./commands/eval.js";
import { execCommand } from "./commands/exec.js";
import { checkCommand } from "./commands/check.js";
import { nixInfoCommand } from "./commands/nix-info.js";
import { nodesCommand } from "./commands/nodes.js";
import { replCommand } from "./commands/repl.js";
import { statusCommand } from "./commands/status.js";
import { diffCommand } from "./commands/diff.js";
import { errorsCommand } from "./commands/errors.js";
import { completionCommand } from "./commands/completion.js";
import { completion } from "./completion.js";
import { withColmenaGlobals } from "./colmena-compat.js";

/** The hive command line. */
export function buildCli(argv: readonly string[]): Argv {
  let cli = withColmenaGlobals(yargs([...argv]))
    .scriptName("hive")
    .parserConfiguration({ "populate--": true })
    .usage("$0 <command> [options]\n\nDeploy NixOS configurations from a Colmena-style hive to a fleet of machines.")
    .version(HIVE_VERSION)
    .completion("yargs-completion", false, completion)
    .help()
    .alias("h", "help")
    .strict()
    .strictCommands()
    .demandCommand(1, "name a command")
    .epilogue(EXIT_CODES_HELP)
    .wrap(Math.min(120, process.stdout.columns || 100));
  for (const command of [
    applyCommand,
    statusCommand,
    checkCommand,
    diffCommand,
    nodesCommand,
    evalCommand,
    execCommand,
    replCommand,
    nixInfoCommand,
    errorsCommand,
    completionCommand,
  ])
    cli = command(cli);
  return cli;
}
