import yargs, { type Arguments, type Argv } from "yargs";
import { HIVE_VERSION } from "./version.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { applyCommand } from "./commands/apply.js";
import { evalCommand } from "./commands/eval.js";
import { execCommand } from "./commands/exec.js";
import { checkCommand } from "./commands/check.js";
import { nixInfoCommand } from "./commands/nix-info.js";
import { nodesCommand } from "./commands/nodes.js";
import { rebuildCommand } from "./commands/rebuild.js";
import { replCommand } from "./commands/repl.js";
import { statusCommand } from "./commands/status.js";
import { diffCommand } from "./commands/diff.js";
import { errorsCommand } from "./commands/errors.js";
import { completionCommand } from "./commands/completion.js";
import { completion } from "./completion.js";
import { withColmenaGlobals } from "./colmena-compat.js";

/**
 * HIVE_* variables that name no option of the command (HIVE_TEST_TMPDIR, a typo) are not the
 * user's arguments: they must not be refused as unknown ones.
 */
function dropForeignEnvironment(argv: Arguments, y: { getOptions(): { key: Record<string, unknown> } }): void {
  const known = new Set(Object.keys(y.getOptions().key));
  for (const name of Object.keys(process.env)) {
    if (!name.startsWith("HIVE_")) continue;
    const kebab = name.slice(5).toLowerCase().replace(/_/g, "-");
    if (known.has(kebab)) continue;
    const camel = kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    Reflect.deleteProperty(argv, kebab);
    Reflect.deleteProperty(argv, camel);
  }
}

interface UsageInternals {
  getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage?: () => void } };
}

/**
 * yargs renders a command's whole help right after starting its handler, to have it at hand
 * should the command fail later. hive never shows it then (a named command's failure is one line,
 * see main.ts), and rendering it cost about 150 ms at the start of every run. Help is still
 * rendered whenever it is shown (--help, a usage error without a command).
 */
export function skipHelpCache(cli: Argv): boolean {
  const usage = (cli as unknown as UsageInternals).getInternalMethods?.().getUsageInstance();
  if (typeof usage?.cacheHelpMessage !== "function") return false;
  usage.cacheHelpMessage = () => undefined;
  return true;
}

/** The hive command line. */
export function buildCli(argv: readonly string[]): Argv {
  let cli = withColmenaGlobals(yargs([...argv]))
    .scriptName("hive")
    .parserConfiguration({ "populate--": true })
    // Every option can come from the environment: HIVE_PARALLEL=20 is -p 20; the command line wins.
    .env("HIVE")
    // yargs passes itself (with the command's options) as the second argument; its types omit it.
    .middleware(dropForeignEnvironment as unknown as (argv: Arguments) => void, true)
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
    rebuildCommand,
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
  skipHelpCache(cli);
  return cli;
}
