import { hostname } from "node:os";
import type { Argv } from "yargs";
import { HiveError, parseGoal } from "@hive/core";
import { resolveHiveSource } from "@hive/eval";
import { action } from "../report.js";
import { withApplyOptions, type ApplyArgs } from "./apply-options.js";
import { runApply, type RebuildTarget } from "./apply-run.js";

const ACTIONS = ["switch", "boot", "test", "dry-activate", "build"] as const;

/** `[USER@]HOST` as nixos-rebuild takes it (the user, when absent, is ssh_config's or yours). */
export function parseSshHost(value: string, option: string): { user: string | null; host: string } {
  const at = value.lastIndexOf("@");
  const user = at < 0 ? null : value.slice(0, at);
  const host = value.slice(at + 1);
  if (host === "" || user === "" || /\s/.test(value) || host.startsWith("-"))
    throw new HiveError("HIVE_USAGE", `${option} takes [USER@]HOST, not ${JSON.stringify(value)}`, {
      hint: `e.g. ${option} root@web-1`,
    });
  return { user, host };
}

interface RebuildArgs extends ApplyArgs {
  action: string;
  flake?: string | undefined;
  "target-host"?: string | undefined;
  "build-host"?: string | undefined;
}

/** The flake and the configuration to deploy: REF#NAME, or the only configuration, or this machine's name. */
function flakeWithNode(args: RebuildArgs): string {
  const flake = args.flake ?? args.config ?? ".";
  if (flake.includes("#")) return flake;
  const source = resolveHiveSource({ config: flake, cwd: process.cwd() });
  if (source.kind !== "flake")
    throw new HiveError("HIVE_USAGE", `hive rebuild deploys a flake's configuration, and ${flake} is a hive.nix`, {
      hint: "use hive apply --on NODE for a hive.nix",
    });
  return `${flake}#${hostname()}`;
}

function rebuildTarget(args: RebuildArgs): RebuildTarget {
  const target = args["target-host"] === undefined ? undefined : parseSshHost(args["target-host"], "--target-host");
  const given = args["build-host"];
  if (given === undefined || given === "localhost") return { target, build: "here" };
  const build = parseSshHost(given, "--build-host");
  if (target !== undefined && build.host === target.host && build.user === target.user)
    return { target, build: "target" };
  return { target, build };
}

export function rebuildCommand<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "rebuild <action>",
    "nixos-rebuild's interface on hive's pipeline: build one flake configuration and deploy it to its host",
    (c) =>
      withApplyOptions(c)
        .positional("action", { type: "string", choices: ACTIONS, demandOption: true })
        .option("flake", {
          type: "string",
          describe: "REF#NAME: the flake and its nixosConfigurations (or hive) node (default: .#<this host name>)",
        })
        .option("target-host", {
          type: "string",
          describe: "[USER@]HOST to deploy to (default: the node's deployment.targetHost, its name)",
        })
        .option("build-host", {
          type: "string",
          describe:
            "[USER@]HOST that builds the system, which then goes from there to the target; localhost (default): here",
        })
        .option("use-remote-sudo", {
          alias: "sudo",
          type: "boolean",
          default: false,
          describe: "accepted: hive runs privileged steps through sudo whenever the target user is not root",
        })
        .option("fast", {
          alias: "no-build-nix",
          type: "boolean",
          default: false,
          describe: "accepted: hive never builds Nix itself first",
        })
        .alias("interactive-sudo", "ask-sudo-password")
        .example("$0 rebuild switch --flake .#web-1 --target-host root@web-1", "as nixos-rebuild, with hive's rollback")
        .example(
          "$0 rebuild boot --flake .#db --target-host root@db --build-host root@builder",
          "build on builder, copy from there to db, make it boot the new system",
        ),
    action(async (args) => {
      const rebuild = args as unknown as RebuildArgs;
      if (rebuild.on !== undefined)
        throw new HiveError("HIVE_USAGE", "hive rebuild deploys the one node --flake REF#NAME names: leave out --on", {
          hint: "hive apply --on ... deploys several nodes",
        });
      const config = flakeWithNode(rebuild);
      await runApply(parseGoal(rebuild.action), { ...rebuild, config }, { rebuild: rebuildTarget(rebuild) });
    }),
  );
}
