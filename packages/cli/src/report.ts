import { isHiveError } from "@hive/core";
import { EXIT, exitCodeFor } from "./exit-codes.js";

export function printError(message: string, hint?: string): void {
  process.stderr.write(`hive: error: ${message.replace(/\n/g, "\n  ")}\n${hint ? `  hint: ${hint}\n` : ""}`);
}

export function printWarning(message: string): void {
  process.stderr.write(`hive: warning: ${message}\n`);
}

/** Reports a failure the way every command does, and sets the exit code. Programmer bugs rethrow. */
export function reportFailure(error: unknown): void {
  if (isHiveError(error)) {
    printError(error.message, error.hint);
    process.exitCode = exitCodeFor(error.code);
    return;
  }
  if (error instanceof Error && error.name === "AbortError") {
    process.exitCode = EXIT.interrupted;
    return;
  }
  throw error;
}

/** Wraps a command handler: failures are reported, never thrown at yargs. */
export function action<A>(handler: (args: A) => Promise<void>): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await handler(args);
    } catch (error) {
      reportFailure(error);
    }
  };
}
