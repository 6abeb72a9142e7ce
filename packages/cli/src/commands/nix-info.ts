import type { Argv } from "yargs";
import { readNixInfo } from "@hive/nix";
import { action } from "../report.js";
import { EXIT } from "../exit-codes.js";

export function nixInfoCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "nix-info",
    "Show the local Nix: version, system, builders, and what hive needs that is missing",
    (c) =>
      c
        .option("json", { type: "boolean", default: false, describe: "print JSON" })
        .example("$0 nix-info", "check this machine before a first deploy"),
    action(async (args) => {
      const info = await readNixInfo();
      if (args.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      } else {
        const lines = [
          `nix version      ${info.version}`,
          `system           ${info.system}`,
          `extra platforms  ${info.extraPlatforms.join(" ") || "-"}`,
          `builders         ${info.builders || "-"}`,
          `max jobs         ${info.maxJobs}`,
          `sandbox          ${info.sandbox}`,
          `substituters     ${info.substituters.join(" ") || "-"}`,
          `hive enables     nix-command flakes (for every nix it runs)`,
          info.missing.length === 0 ? "missing          nothing" : `missing          ${info.missing.join("; ")}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      if (info.missing.length > 0) process.exitCode = EXIT.hive;
    }),
  );
}
