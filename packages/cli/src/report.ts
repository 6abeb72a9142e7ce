import { isHiveError } from "@hive/core";
import { EXIT } from "./exit-codes.js";
import { ERROR_TABLE } from "./error-table.js";

export function printError(message: string, hint?: string): void {
  process.stderr.write(`hive: error: ${message.replace(/\n/g, "\n  ")}\n${hint ? `  hint: ${hint}\n` : ""}`);
}

/** Something the user should know, that is not wrong. */
export function printNote(message: string): void {
  process.stderr.write(`hive: note: ${message}\n`);
}

export function printWarning(message: string): void {
  process.stderr.write(`hive: warning: ${message}\n`);
}

/** Reports a failure the way every command does, and sets the exit code. Programmer bugs rethrow. */
export function reportFailure(error: unknown): void {
  if (isHiveError(error)) {
    const entry = ERROR_TABLE[error.code];
    printError(error.message, error.hint ?? entry.hint);
    process.exitCode = entry.exit;
    return;
  }
  if (error instanceof Error && error.name === "AbortError") {
    process.exitCode = EXIT.interrupted;
    return;
  }
  throw error;
}

/** Wraps a command handler: failures are reported, never thrown at yargs. */
export function action<A>(handler: (args: A) => Promise<void> | void): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await handler(args);
    } catch (error) {
      reportFailure(error);
    }
  };
}
