import type { Argv } from "yargs";
import { GOAL_ALIASES, GOAL_TRAITS, GOALS, parseGoal } from "@hive/core";
import { action } from "../report.js";
import { withApplyOptions } from "./apply-options.js";
import { runApply } from "./apply-run.js";

export function applyCommand<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      "apply [goal]",
      "Build, push and activate the selected nodes",
      (c) =>
        withApplyOptions(c)
          .positional("goal", {
            type: "string",
            choices: [...GOALS, ...Object.keys(GOAL_ALIASES)],
            describe: "what to do (default: switch, or boot with --reboot, as in Colmena)",
          })
          .example("$0 apply --on @web", "switch every web node")
          .example("$0 apply boot --on 'db-*' -p 2", "make db nodes boot the new system, two at a time")
          .example("$0 apply --on @web --confirm", "build, show what changes on each node, ask, then switch")
          .example(
            "$0 apply --on @web --log-format json | jq -c 'select(.type == \"node-done\")'",
            "NDJSON events for CI",
          ),
      action(async (args) => runApply(parseGoal(args.goal ?? (args.reboot ? "boot" : "switch")), args)),
    )
    .command(
      "build",
      "Build the selected nodes' systems (apply build)",
      (c) =>
        withApplyOptions(c)
          .example("$0 build --on @web", "build the web nodes' systems here")
          .example("$0 build --keep-result", "build every node and keep each system as a GC root in .gcroots/"),
      action(async (args) => runApply("build", args)),
    )
    .command(
      "apply-local [goal]",
      "Build and activate this machine's node of the hive, here (no SSH)",
      (c) =>
        withApplyOptions(c)
          .positional("goal", {
            type: "string",
            default: "switch",
            choices: [
              ...GOALS.filter((g) => GOAL_TRAITS[g].activation !== null || g === "upload-keys"),
              ...Object.keys(GOAL_ALIASES),
            ],
          })
          .option("node", {
            type: "string",
            describe: "the node to apply (default: the one named like this machine's host name)",
          })
          .option("sudo", {
            type: "boolean",
            default: false,
            describe: "run privileged steps through sudo (when hive does not run as root)",
          })
          .example("$0 apply-local --sudo", "switch this machine to its node's configuration"),
      action(async (args) => runApply(parseGoal(args.goal), args, { local: { node: args.node, sudo: args.sudo } })),
    )
    .command(
      "upload-keys",
      "Upload deployment.keys to the selected nodes, all of them whatever their uploadAt (apply upload-keys)",
      (c) =>
        withApplyOptions(c).example("$0 upload-keys --on db", "put db's keys in place again (e.g. after rotating one)"),
      action(async (args) => runApply("upload-keys", args)),
    );
}
