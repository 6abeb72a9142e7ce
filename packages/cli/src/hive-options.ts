import type { Argv } from "yargs";
import { HiveError, parseNodeFilter, type NodeFilter } from "@hive/core";
import { Hive, parseEvalNodeLimit, resolveEvalLimits, type EvalLimits } from "@hive/eval";
import type { NixOptions } from "@hive/nix";
import { printWarning } from "./report.js";

/** Options every command that reads the hive takes. */
export function withHiveOptions<T>(y: Argv<T>) {
  return y
    .option("config", {
      alias: "f",
      type: "string",
      describe:
        "the hive: a hive.nix, flake.nix, directory or flake URI (default: search upward for flake.nix, then hive.nix)",
    })
    .option("show-trace", { type: "boolean", default: false, describe: "show Nix's full trace on evaluation errors" })
    .option("impure", {
      type: "boolean",
      default: false,
      describe: "allow impure evaluation (e.g. <nixpkgs> or uninitialised nixpkgs in a flake)",
    })
    .option("nix-option", {
      type: "string",
      array: true,
      nargs: 2,
      describe: "pass --option NAME VALUE to Nix (repeatable)",
    })
    .option("inventory", {
      type: "string",
      describe: "deployment settings per node in YAML (default: hive.yaml beside the hive, when it exists)",
    })
    .option("eval-node-limit", {
      type: "string",
      default: "auto",
      describe: "nodes evaluated per nix process: auto (from available memory), 0 (no limit) or a number",
    });
}

export function withNodeFilter<T>(y: Argv<T>) {
  return y.option("on", {
    type: "string",
    // One value per --on (repeat it for more): `--on web-1 uptime` must not take `uptime` too.
    coerce: (value: string | string[]) => (Array.isArray(value) ? value : [value]),
    describe: "nodes to select: names, globs and @tags, comma-separated, OR'd; !x excludes (e.g. 'web-*,@db,!web-3')",
  }) as unknown as Argv<T & { on: string[] | undefined }>;
}

export interface HiveArgs {
  config?: string | undefined;
  "show-trace": boolean;
  impure: boolean;
  "nix-option"?: string[] | undefined;
  inventory?: string | undefined;
}

export function nixOptionsFrom(args: HiveArgs): NixOptions {
  const raw = args["nix-option"] ?? [];
  if (raw.length % 2 !== 0) throw new HiveError("HIVE_USAGE", "--nix-option takes a NAME and a VALUE");
  const options: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) options.push([raw[i] ?? "", raw[i + 1] ?? ""]);
  return { showTrace: args["show-trace"], impure: args.impure, options };
}

export function openHive(args: HiveArgs, prefetch?: readonly string[]): Promise<Hive> {
  return Hive.open({
    config: args.config,
    cwd: process.cwd(),
    nix: nixOptionsFrom(args),
    onWarning: printWarning,
    inventory: args.inventory,
    prefetch,
  });
}

const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The nodes a command line names outright (`-f REF#NODE`, or `--on` with plain names only), whose
 * evaluation can start while the hive opens; none when a glob, tag or exclusion needs the hive first.
 */
export function namedNodes(args: { config?: string | undefined; on?: string[] | undefined }): string[] {
  const fragment = args.config?.includes("#") ? args.config.slice(args.config.lastIndexOf("#") + 1) : undefined;
  if (fragment !== undefined && args.on === undefined) return PLAIN_NAME.test(fragment) ? [fragment] : [];
  const items = (args.on ?? []).flatMap((v) => v.split(",")).map((v) => v.trim());
  return items.length > 0 && items.every((i) => PLAIN_NAME.test(i)) ? items : [];
}

export function nodeFilterFrom(args: { on?: string[] | undefined }): NodeFilter | undefined {
  if (args.on === undefined) return undefined;
  // `--on` with nothing after it (an unset variable, a trailing flag) must never mean every node.
  if (args.on.some((v) => v.trim() === ""))
    throw new HiveError("HIVE_USAGE", "--on needs nodes: names, globs or @tags", {
      hint: "e.g. --on web-1, --on 'web-*,@db'; leave --on out to select every node",
    });
  return parseNodeFilter(args.on);
}

export function evalLimitsFrom(args: { "eval-node-limit": string }, nodeCount: number): EvalLimits {
  return resolveEvalLimits(parseEvalNodeLimit(args["eval-node-limit"]), nodeCount);
}
