import type { Argv } from "yargs";
import { withHiveOptions, withNodeFilter, type openHive } from "../hive-options.js";

/** Options of apply, build, upload-keys, apply-local and diff. */
export function withApplyOptions<T>(y: Argv<T>) {
  return withNodeFilter(withHiveOptions(y))
    .option("parallel", {
      alias: "p",
      type: "number",
      default: 10,
      describe: "nodes pushed and activated at once (each phase)",
    })
    .option("build-jobs", { type: "number", describe: "local builds at once (default: one per core)" })
    .option("gzip", {
      type: "boolean",
      default: true,
      describe: "compress closures on the wire (--no-gzip to turn off)",
    })
    .option("substitute", {
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
  "build-jobs"?: number | undefined;
  gzip: boolean;
  keys: boolean;
  "keep-result": boolean;
  reboot: boolean;
  "reboot-timeout": number;
  substitute: boolean;
  reactivate: boolean;
  "force-replace-unknown-profiles": boolean;
  verbose: boolean;
  "log-format": string;
  confirm: boolean;
  yes: boolean;
  color: "auto" | "always" | "never";
};
