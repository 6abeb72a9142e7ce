#!/usr/bin/env node
import { buildCli } from "./cli.js";

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
