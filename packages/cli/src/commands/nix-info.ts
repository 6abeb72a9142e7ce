import type { Argv } from "yargs";
import { action } from "../report.js";
import { EXIT } from "../exit-codes.js";
import { readRuntimeNeeds } from "../runtime-needs.js";

export function nixInfoCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "nix-info",
    "Show the local Nix (version, system, builders), Node and ssh, and what hive needs that is missing",
    (c) =>
      c
        .option("json", { type: "boolean", default: false, describe: "print JSON" })
        .example("$0 nix-info", "check this machine before a first deploy"),
    action(async (args) => {
      const needs = await readRuntimeNeeds();
      const info = needs.nix;
      if (args.json) {
        process.stdout.write(
          `${JSON.stringify({ ...info, node: needs.node, ssh: needs.ssh, missing: needs.missing }, null, 2)}\n`,
        );
      } else {
        const nixLines =
          info === null
            ? ["nix version      not found"]
            : [
                `nix version      ${info.version}`,
                `system           ${info.system}`,
                `extra platforms  ${info.extraPlatforms.join(" ") || "-"}`,
                `builders         ${info.builders || "-"}`,
                `max jobs         ${info.maxJobs}`,
                `sandbox          ${info.sandbox}`,
                `substituters     ${info.substituters.join(" ") || "-"}`,
                `hive enables     nix-command flakes (for every nix it runs)`,
              ];
        const lines = [
          ...nixLines,
          `node             ${needs.node}`,
          `ssh              ${needs.ssh ?? "not found"}`,
          needs.missing.length === 0
            ? "missing          nothing"
            : `missing          ${needs.missing.join("\n                 ")}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      if (needs.missing.length > 0) {
        process.stderr.write(`hive: this machine lacks what hive needs: ${needs.missing.join("; ")}\n`);
        process.exitCode = EXIT.hive;
      }
    }),
  );
}
