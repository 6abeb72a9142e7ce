#!/usr/bin/env node
import { buildCli } from "./cli.js";

// `hive ... | head`: a reader that goes away early ends hive quietly, as it does other Unix tools.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

await buildCli(process.argv.slice(2))
  // yargs calls this for usage problems (unknown options, failed checks). A command's own
  // failure is not a usage error: it propagates.
  .fail((message: string | null, error: Error | undefined, cli) => {
    if (error !== undefined && message === null) throw error;
    cli.showHelp();
    process.stderr.write(`\nhive: ${message ?? error?.message ?? "usage error"}\n`);
    process.exitCode = 2;
  })
  .parseAsync();
