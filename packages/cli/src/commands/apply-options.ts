import type { Argv } from "yargs";
import { withHiveOptions, withNodeFilter, type openHive } from "../hive-options.js";
import { parallelOption } from "../parallel-option.js";
import { interactiveSudoOption, sshBackendOption } from "../ssh-targets.js";

/** Options of apply, build, upload-keys, apply-local and diff. */
export function withApplyOptions<T>(y: Argv<T>) {
  return withNodeFilter(withHiveOptions(y))
    .option("parallel", parallelOption(10, "nodes pushed and activated (each phase)"))
    .option("max-jobs", {
      alias: "build-jobs",
      type: "number",
      describe: "derivations built here at once (default: one per core)",
    })
    .option("cores", { type: "number", describe: "cores each build may use (Nix's --cores; 0: all)" })
    .option("builders", {
      type: "string",
      describe: "remote builders in Nix's machines format, or @FILE (default: meta.machinesFile)",
    })
    .option("build-on-target", {
      type: "boolean",
      describe: "build every node on its target (--no-build-on-target: nowhere); default: deployment.buildOnTarget",
    })
    .option("dry-run", {
      type: "boolean",
      default: false,
      describe: "show where each node would be built and what it needs built or fetched, then stop",
    })
    .option("gzip", {
      type: "boolean",
      default: true,
      describe: "compress closures on the wire (--no-gzip to turn off)",
    })
    .option("fan-out", {
      type: "string",
      choices: ["auto", "off"],
      default: "auto",
      describe:
        "auto: hosts with deployment.fanOut copy the paths they share from each other, so each crosses this machine's link about once; off: every host from here",
    })
    .option("fan-out-stall", {
      type: "number",
      default: 30,
      describe: "seconds a copy between hosts may make no progress before that host is pushed direct",
    })
    .option("via-cache", {
      type: "string",
      describe:
        "push each new path once to this binary cache (a Nix store URL; ?secret-key=FILE signs) and let hosts that trust its key substitute from it; off: not even meta.viaCache",
    })
    .option("via-cache-public-key", {
      type: "string",
      describe:
        "the cache's public key (NAME:BASE64) a host must trust to use it (default: from the URL's secret-key=)",
    })
    .option("via-cache-substituter", {
      type: "string",
      describe: "the cache's URL as the hosts reach it (default: the --via-cache URL without its ?query)",
    })
    .option("substitute", {
      // Colmena spells it both ways: --no-substitute and --no-substitutes.
      alias: "substitutes",
      type: "boolean",
      default: true,
      describe: "let targets fetch from their own substituters first (--no-substitute)",
    })
    .option("reboot", {
      type: "boolean",
      default: false,
      describe: "reboot after activation (switch, boot) and wait for the new system to boot",
    })
    .option("reboot-timeout", { type: "number", default: 600, describe: "seconds to wait for a rebooting host" })
    .option("activation-timeout", {
      type: "number",
      default: 600,
      describe: "seconds an activation may run before hive stops it and restores the previous system",
    })
    .option("magic-rollback", {
      type: "boolean",
      default: true,
      describe:
        "keep a switch only if hive can reconnect to confirm it; else the host rolls itself back (--no-magic-rollback)",
    })
    .option("confirm-timeout", {
      type: "number",
      default: 30,
      describe: "seconds a host waits for that confirmation before it rolls back",
    })
    .option("canary", {
      type: "string",
      describe: "activate these first and stop if one fails: a count, or node names, globs and @tags",
    })
    .option("waves", {
      alias: "wave-size",
      type: "string",
      describe: "activate the rest in waves, each after the one before ended: N, a schedule 1,2,4, or 10%,50%",
    })
    .option("max-failures", {
      type: "string",
      describe: "failed nodes tolerated (N or P%); one more halts the rollout: no new host starts",
    })
    .option("soak", {
      type: "string",
      describe:
        "between waves, wait this long (30, 30s, 2m), then re-run the health checks of every host switched so far",
    })
    .option("rollback-on-halt", {
      type: "boolean",
      default: false,
      describe: "when the rollout halts, roll back every host this run switched",
    })
    .option("interactive-sudo", interactiveSudoOption)
    .option("ssh", sshBackendOption)
    .option("break-lock", {
      type: "boolean",
      default: false,
      describe: "take each host's deploy lock even from a deploy that still holds it",
    })
    .option("evaluator", {
      type: "string",
      choices: ["chunked", "streaming"],
      describe: "accepted for Colmena, with a note: hive always evaluates in chunks (--eval-node-limit)",
    })
    .option("keep-result", {
      type: "boolean",
      default: false,
      describe: "keep each node's system as a GC root in .gcroots/ beside the hive",
    })
    .option("keys", { type: "boolean", default: true, describe: "upload deployment.keys (--no-keys to skip them)" })
    .option("reactivate", {
      type: "boolean",
      default: false,
      describe: "activate even hosts already running the system",
    })
    .option("force-replace-unknown-profiles", {
      type: "boolean",
      default: false,
      describe: "replace profiles hive does not know, whatever replaceUnknownProfiles says",
    })
    .option("log-format", {
      type: "string",
      choices: ["auto", "plain", "json", "github"],
      default: "auto",
      describe:
        "auto: a live view on terminals, plain lines elsewhere; json: NDJSON events on stdout; github: GitHub Actions groups and annotations",
    })
    .option("color", {
      type: "string",
      choices: ["auto", "always", "never"] as const,
      default: "auto" as const,
      describe: "colour on terminals; auto honours NO_COLOR and FORCE_COLOR",
    })
    .option("verbose", { alias: "v", type: "boolean", default: false, describe: "print build logs too" })
    .option("confirm", {
      type: "boolean",
      default: false,
      describe: "build first, show what changes on each node (as hive diff does), and ask before deploying",
    })
    .option("yes", {
      alias: "y",
      type: "boolean",
      default: false,
      describe: "with --confirm: show the plan, do not ask",
    });
}

export type ApplyArgs = Parameters<typeof openHive>[0] & {
  on?: string[] | undefined;
  "eval-node-limit": string;
  parallel: number;
  "max-jobs"?: number | undefined;
  cores?: number | undefined;
  builders?: string | undefined;
  "build-on-target"?: boolean | undefined;
  "dry-run": boolean;
  gzip: boolean;
  "fan-out": string;
  "fan-out-stall": number;
  "via-cache"?: string | undefined;
  "via-cache-public-key"?: string | undefined;
  "via-cache-substituter"?: string | undefined;
  keys: boolean;
  "keep-result": boolean;
  reboot: boolean;
  "reboot-timeout": number;
  "activation-timeout": number;
  "break-lock": boolean;
  "interactive-sudo": boolean;
  ssh?: string | undefined;
  canary?: string | undefined;
  waves?: string | undefined;
  "max-failures"?: string | undefined;
  "rollback-on-halt": boolean;
  soak?: string | undefined;
  "magic-rollback": boolean;
  "confirm-timeout": number;
  substitute: boolean;
  reactivate: boolean;
  "force-replace-unknown-profiles": boolean;
  verbose: boolean;
  "log-format": string;
  confirm: boolean;
  yes: boolean;
  color: "auto" | "always" | "never";
};
