import type { Argv } from "yargs";
import {
  GOAL_TRAITS,
  GOALS,
  HiveError,
  parseGoal,
  requireExplicitSelection,
  type Goal,
  type NodeConfig,
  type NodeName,
} from "@hive/core";
import { Deployment, type DeployOrigin, type NodeSummary } from "@hive/deploy";
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { gitState, type Hive, type NodeOutcome } from "@hive/eval";
import { LocalTransport } from "@hive/nix";
import { SshTransportPool } from "@hive/ssh";
import { action } from "../report.js";
import { evalLimitsFrom, nodeFilterFrom, openHive, withHiveOptions, withNodeFilter } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { plainRenderer } from "../plain-renderer.js";
import { LiveRenderer } from "../live-renderer.js";
import { jsonRenderer } from "../json-renderer.js";
import { githubRenderer } from "../github-renderer.js";
import { sshTargetOf } from "../ssh-targets.js";
import { HIVE_VERSION } from "../version.js";

function summaryLine(s: NodeSummary): string {
  switch (s.outcome) {
    case "succeeded":
      return `${s.node}: succeeded${s.system ? ` (${s.system})` : ""}`;
    case "unchanged":
      return `${s.node}: unchanged (already running ${s.system ?? "the system"})`;
    case "skipped":
      return `${s.node}: skipped: ${s.message ?? ""}`;
    case "failed":
      return `${s.node}: failed at ${s.step ?? "?"}: ${(s.message ?? "").replace(/\n/g, "\n    ")}`;
  }
}

function withApplyOptions<T>(y: Argv<T>) {
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
    .option("verbose", { alias: "v", type: "boolean", default: false, describe: "print build logs too" });
}

type ApplyArgs = Parameters<typeof openHive>[0] & {
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
};

/** Where the hive lives on this machine (for .gcroots/); the working directory for remote flakes. */
function hiveDirectory(hive: Hive): string {
  return hive.localDirectory ?? process.cwd();
}

/** Who deploys what from where, for the hosts' deploy history. */
async function deployOrigin(hive: Hive, run: string): Promise<DeployOrigin> {
  const dir = hive.localDirectory;
  const git = dir === undefined ? undefined : await gitState(dir);
  return {
    run,
    user: process.env.SUDO_USER ?? userInfo().username,
    from: hostname(),
    hiveVersion: HIVE_VERSION,
    ...(git !== undefined ? { git } : {}),
  };
}

/** apply-local: this machine is the target, as one node of the hive. */
interface LocalTarget {
  node: string | undefined;
  sudo: boolean;
}

async function selectLocalNode(hive: Hive, local: LocalTarget): Promise<NodeName[]> {
  const name = local.node ?? hostname();
  const node = hive.nodes.find((n) => n === name);
  if (node === undefined) {
    throw new HiveError("HIVE_UNKNOWN_NODE", `no node named ${JSON.stringify(name)} in the hive`, {
      hint:
        local.node === undefined
          ? "apply-local picks the node named like this machine's host name; name another with --node"
          : `nodes: ${hive.nodes.join(", ")}`,
    });
  }
  const outcomes: NodeOutcome<NodeConfig>[] = [];
  await hive.nodeConfigs([node], (o) => outcomes.push(o));
  const [outcome] = outcomes;
  if (outcome !== undefined && !outcome.ok) throw outcome.error;
  if (outcome?.value.deployment.allowLocalDeployment !== true) {
    throw new HiveError("HIVE_USAGE", `node ${node} does not allow local deployment`, {
      hint: "set deployment.allowLocalDeployment = true on it",
    });
  }
  return [node];
}

async function runApply(goal: Goal, args: ApplyArgs, local?: LocalTarget): Promise<void> {
  if (!Number.isInteger(args.parallel) || args.parallel < 1)
    throw new HiveError("HIVE_USAGE", "--parallel takes a whole number, at least 1");
  const hive = await openHive(args);
  const filter = nodeFilterFrom(args);
  if (local === undefined && (GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].uploadsKeys))
    requireExplicitSelection(hive.info.meta.allowApplyAll, filter);
  const selected = local === undefined ? await hive.select(filter) : await selectLocalNode(hive, local);
  const pool = new SshTransportPool();
  const localTransport = local === undefined ? undefined : new LocalTransport(local.sudo ? ["sudo", "-H", "--"] : []);
  const controller = new AbortController();
  // NDJSON when asked; else one live line per node on a terminal; plain lines for logs, CI and -v.
  const run = randomUUID();
  const json = args["log-format"] === "json" ? jsonRenderer(process.stdout, run) : undefined;
  const live =
    json === undefined && args["log-format"] === "auto" && process.stderr.isTTY && !args.verbose
      ? new LiveRenderer(process.stderr)
      : undefined;
  const startedAt = Date.now();
  const keyTexts = new Map<NodeName, Promise<Map<string, string>>>();
  const deployment = new Deployment({
    goal,
    origin: await deployOrigin(hive, run),
    noKeys: !args.keys,
    ...(args["keep-result"] ? { gcRootDir: join(hiveDirectory(hive), ".gcroots") } : {}),
    ...(args.reboot ? { reboot: { timeoutMs: args["reboot-timeout"] * 1000 } } : {}),
    keySources: {
      text: async (node, key) => {
        let texts = keyTexts.get(node);
        if (texts === undefined) {
          texts = hive.keyTexts(node, { signal: controller.signal });
          keyTexts.set(node, texts);
        }
        const text = (await texts).get(key);
        if (text === undefined) throw new HiveError("HIVE_KEY_FAILED", `node ${node}: keys: key ${key} has no text`);
        return text;
      },
    },
    parallel: args.parallel,
    ...(args["build-jobs"] !== undefined ? { buildJobs: args["build-jobs"] } : {}),
    gzip: args.gzip,
    substitute: args.substitute,
    reactivate: args.reactivate,
    forceReplaceUnknownProfiles: args["force-replace-unknown-profiles"],
    signal: controller.signal,
    transportFor: (node) => {
      if (localTransport !== undefined) return localTransport;
      const target = sshTargetOf(node);
      return target === undefined ? undefined : pool.transportFor(target, node.deployment.privilegeEscalationCommand);
    },
    onEvent:
      json?.onEvent ??
      live?.onEvent ??
      (args["log-format"] === "github"
        ? githubRenderer((line) => process.stdout.write(`${line}\n`))
        : plainRenderer((line) => process.stderr.write(`${line}\n`), { verbose: args.verbose })),
  });
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(
        "hive: interrupted: starting nothing new; running steps finish (Ctrl-C again to abort them)\n",
      );
      deployment.stop();
    } else {
      controller.abort(new HiveError("HIVE_USAGE", "aborted"));
    }
  };
  process.on("SIGINT", onInterrupt);
  try {
    const evalOptions = { limits: evalLimitsFrom(args, selected.length), signal: controller.signal };
    if (GOAL_TRAITS[goal].builds) {
      await hive.evaluate(
        selected,
        (o) =>
          o.ok
            ? deployment.add({ name: o.node, deployment: o.value.deployment, drvPath: o.value.drvPath })
            : deployment.fail(o.node, "evaluate", o.error),
        evalOptions,
      );
    } else {
      await hive.nodeConfigs(
        selected,
        (o) => (o.ok ? deployment.add(o.value) : deployment.fail(o.node, "evaluate", o.error)),
        evalOptions,
      );
    }
    const summaries = await deployment.finish();
    live?.finish();
    const order = new Map(selected.map((n, i) => [n, i]));
    summaries.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
    if (json) {
      json.summary(
        summaries.map((s) => ({
          node: s.node,
          outcome: s.outcome,
          ...(s.step !== undefined ? { step: s.step } : {}),
          ...(s.code !== undefined ? { code: s.code } : {}),
          ...(s.system !== undefined ? { system: s.system } : {}),
        })),
        Date.now() - startedAt,
      );
      json.flush();
    } else {
      process.stdout.write(`\n${summaries.map(summaryLine).join("\n")}\n`);
    }
    if (summaries.some((s) => s.outcome === "failed")) process.exitCode = EXIT.nodesFailed;
    if (interrupts > 0) process.exitCode = EXIT.interrupted;
  } finally {
    process.off("SIGINT", onInterrupt);
    await pool.closeAll();
  }
}

export function applyCommand<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      "apply [goal]",
      "Build, push and activate the selected nodes",
      (c) =>
        withApplyOptions(c)
          .positional("goal", { type: "string", default: "switch", choices: GOALS, describe: "what to do" })
          .example("$0 apply --on @web", "switch every web node")
          .example("$0 apply boot --on 'db-*' -p 2", "make db nodes boot the new system, two at a time"),
      action(async (args) => runApply(parseGoal(args.goal), args)),
    )
    .command(
      "build",
      "Build the selected nodes' systems (apply build)",
      (c) => withApplyOptions(c),
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
            choices: GOALS.filter((g) => GOAL_TRAITS[g].activation !== null || g === "upload-keys"),
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
      action(async (args) => runApply(parseGoal(args.goal), args, { node: args.node, sudo: args.sudo })),
    )
    .command(
      "upload-keys",
      "Upload deployment.keys to the selected nodes, all of them whatever their uploadAt (apply upload-keys)",
      (c) => withApplyOptions(c),
      action(async (args) => runApply("upload-keys", args)),
    );
}
