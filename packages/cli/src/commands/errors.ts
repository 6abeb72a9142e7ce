import type { Argv } from "yargs";
import { HIVE_ERROR_CODES, HiveError, type HiveErrorCode } from "@hive/core";
import { action } from "../report.js";
import { ERROR_TABLE } from "../error-table.js";
import { plainTable } from "../table.js";

export function errorsCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "errors [code]",
    "List hive's error codes with their exit codes and hints",
    (c) =>
      c
        .positional("code", { type: "string", describe: "one code, e.g. HIVE_UNKNOWN_PROFILE or UNKNOWN_PROFILE" })
        .option("json", { type: "boolean", default: false, describe: "print JSON" })
        .example("$0 errors", "every error code")
        .example("$0 errors SSH_AUTH_FAILED", "what that error means and what to do"),
    action((args) => {
      let codes: readonly HiveErrorCode[] = HIVE_ERROR_CODES;
      if (args.code !== undefined) {
        const wanted = args.code.toUpperCase().replace(/^(HIVE_)?/, "HIVE_");
        const code = HIVE_ERROR_CODES.find((c) => c === wanted);
        if (code === undefined)
          throw new HiveError("HIVE_USAGE", `no error code ${args.code}`, { hint: "hive errors lists them all" });
        codes = [code];
      }
      if (args.json) {
        const rows = codes.map((code) => ({ code, ...ERROR_TABLE[code] }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const width = process.stdout.columns || 120;
      const table = plainTable(["code", "exit", "meaning and hint"], [36, 6, Math.max(30, width - 46)]);
      for (const code of codes) {
        const { exit, meaning, hint } = ERROR_TABLE[code];
        table.push([code, exit, `${meaning}\nhint: ${hint}`]);
      }
      process.stdout.write(`${table.toString()}\n`);
    }),
  );
}
