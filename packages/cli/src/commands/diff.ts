import type { Argv } from "yargs";
import { action } from "../report.js";
import { parallelOption } from "../parallel-option.js";
import { withHiveOptions, withNodeFilter } from "../hive-options.js";
import { interactiveSudoOption, sshBackendOption } from "../ssh-targets.js";
import { runApply } from "./apply-run.js";

export function diffCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "diff",
    "Build the selected nodes and show what deploying them would change on each: packages added, removed, upgraded, and the size",
    (c) =>
      withNodeFilter(withHiveOptions(c))
        .option("json", { type: "boolean", default: false, describe: "print the plan as JSON" })
        .option("parallel", parallelOption(10, "hosts asked"))
        .option("max-jobs", { alias: "build-jobs", type: "number", describe: "derivations built here at once" })
        .option("builders", { type: "string", describe: "remote builders (Nix's machines format, or @FILE)" })
        .option("verbose", { alias: "v", type: "boolean", default: false, describe: "print build logs too" })
        .option("interactive-sudo", interactiveSudoOption)
        .option("ssh", sshBackendOption)
        .example("$0 diff --on @web", "what a switch of the web nodes would change")
        .example("$0 diff --json | jq '.changes'", "each package change once, with the nodes it touches"),
    action(async (args) =>
      runApply(
        "switch",
        {
          ...args,
          gzip: true,
          "fan-out": "off",
          "fan-out-stall": 30,
          keys: false,
          "keep-result": false,
          reboot: false,
          "reboot-timeout": 0,
          "activation-timeout": 600,
          "break-lock": false,
          "magic-rollback": true,
          "confirm-timeout": 30,
          "rollback-on-halt": false,
          substitute: true,
          reactivate: false,
          "force-replace-unknown-profiles": false,
          "log-format": "auto",
          color: "auto",
          confirm: false,
          "dry-run": false,
          yes: false,
        },
        { diff: { json: args.json } },
      ),
    ),
  );
}
