#!/usr/bin/env node
import "./node-version.js";
import { buildCli } from "./cli.js";

// `hive ... | head`: a reader that goes away early ends hive quietly, as it does other Unix tools.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

/** Thrown from yargs' failure handler so that nothing runs after a usage error. */
class UsageError extends Error {}

const argv = process.argv.slice(2);

// No top-level await: the bundle users install is CommonJS, run from V8's code cache (launch.ts).
async function main(): Promise<void> {
  try {
    await buildCli(argv)
      // yargs calls this for usage problems (unknown options, failed checks). A command's own
      // failure is not a usage error: it propagates. The one line that matters comes alone, with
      // where to look; the whole help only when no command was named. Throwing stops yargs: a
      // command line with a wrong option must never go on to run its command.
      .fail((message: string | null, error: Error | undefined, cli) => {
        if (error !== undefined && message === null) throw error;
        // The command is the first word, unless the line starts with an option or names none hive knows.
        const first = argv[0];
        const command =
          first !== undefined && !first.startsWith("-") && !/^Unknown command/.test(message ?? "") ? first : undefined;
        if (command === undefined) cli.showHelp();
        process.stderr.write(
          `${command === undefined ? "\n" : ""}hive: ${message ?? error?.message ?? "usage error"}\n  hint: hive ${command ?? ""}${command ? " " : ""}--help lists the options\n`,
        );
        process.exitCode = 2;
        // Without a command nothing can run, and yargs goes on to name every problem.
        if (command !== undefined) throw new UsageError(message ?? "usage error");
      })
      .parseAsync();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
  }
}

void main();
