import { createInterface } from "node:readline/promises";
import {
  GOAL_TRAITS,
  HiveError,
  requireExplicitSelection,
  type DeployEvent,
  type DeployStep,
  type DrvPath,
  type Goal,
  type NodeConfig,
  type NodeName,
} from "@hive/core";
import { Deployment, type DeployNode, type DeploymentOptions, type DeployOrigin, type NodeSummary } from "@hive/deploy";
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { gitState, type ChunkOptions, type EvaluatedNode, type Hive, type NodeOutcome } from "@hive/eval";
import type { BuildCapabilities, Placement } from "@hive/build";
import { printError } from "../report.js";
import { LocalTransport } from "@hive/nix";
import { SshTransportPool } from "@hive/ssh";
import { evalLimitsFrom, nodeFilterFrom, openHive } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { plainRenderer } from "../plain-renderer.js";
import { LiveRenderer } from "../live-renderer.js";
import { colours, useColour } from "../colour.js";
import { jsonRenderer } from "../json-renderer.js";
import { githubRenderer } from "../github-renderer.js";
import { sshTargetOf } from "../ssh-targets.js";
import { HIVE_VERSION } from "../version.js";
import { planJson, planNodes, renderPlan } from "../plan.js";
import { buildCapabilities, dryRunTable, makeScheduler, nowhereError, placementOf } from "../build-setup.js";
import type { ApplyArgs } from "./apply-options.js";

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

/** Summary lines, with the outcome coloured where stdout takes colour. */
function summaryPainter(args: ApplyArgs): (s: NodeSummary) => string {
  const c = colours(useColour(args.color, process.stdout));
  const paint = { succeeded: c.green, unchanged: c.dim, skipped: c.yellow, failed: c.red };
  return (s) => {
    const line = summaryLine(s);
    const at = s.node.length + 2;
    return `${line.slice(0, at)}${paint[s.outcome](line.slice(at, at + s.outcome.length))}${line.slice(at + s.outcome.length)}`;
  };
}

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
export interface LocalTarget {
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

/** How runApply runs: apply-local's target; diff stops after showing the plan. */
export interface ApplyMode {
  local?: LocalTarget;
  diff?: { json: boolean };
}

/** Where deploy events go for one stage: NDJSON, a live view, GitHub groups or plain lines. */
function stageRenderer(
  args: ApplyArgs,
  json: ReturnType<typeof jsonRenderer> | undefined,
  title: string,
  nodes: readonly NodeName[],
) {
  const live =
    json === undefined && args["log-format"] === "auto" && process.stderr.isTTY && !args.verbose
      ? new LiveRenderer(process.stderr, { title, colour: useColour(args.color, process.stderr) })
      : undefined;
  live?.expect(nodes);
  const onEvent: (event: DeployEvent) => void =
    json?.onEvent ??
    live?.onEvent ??
    (args["log-format"] === "github"
      ? githubRenderer((line) => process.stdout.write(`${line}\n`))
      : plainRenderer((line) => process.stderr.write(`${line}\n`), { verbose: args.verbose }));
  return { onEvent, finish: () => live?.finish() };
}

/** Asks on the terminal; anything but y/yes is a no. */
async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function checkApplyArgs(goal: Goal, args: ApplyArgs, mode: ApplyMode): void {
  if (!Number.isInteger(args.parallel) || args.parallel < 1)
    throw new HiveError("HIVE_USAGE", "--parallel takes a whole number, at least 1");
  if (args.confirm && mode.diff === undefined) {
    if (!GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].activation === null)
      throw new HiveError("HIVE_USAGE", `--confirm needs a goal that activates a system, not ${goal}`);
    if (!args.yes && !process.stdin.isTTY)
      throw new HiveError("HIVE_USAGE", "--confirm asks on a terminal, and stdin is not one", {
        hint: "pass --yes to show the plan and deploy without asking",
      });
  }
}

/** Evaluation's results, kept so that a second stage can deploy the same nodes without evaluating again. */
class EvaluatedNodes {
  readonly nodes = new Map<NodeName, DeployNode>();
  readonly failures: { node: NodeName; error: HiveError; step: DeployStep }[] = [];
  constructor(private readonly into: Deployment) {}
  add = (node: DeployNode): void => {
    this.nodes.set(node.name, node);
    this.into.add(node);
  };
  fail = (node: NodeName, error: HiveError, step: DeployStep = "evaluate"): void => {
    this.failures.push({ node, error, step });
    this.into.fail(node, step, error);
  };
  /** Feeds the nodes that built into a deployment, and fails the rest there as they failed here. */
  replay(into: Deployment, built: readonly NodeSummary[]): void {
    for (const { node, error, step } of this.failures) into.fail(node, step, error);
    for (const summary of built) {
      const node = this.nodes.get(summary.node);
      if (summary.outcome === "failed" && !this.failures.some((f) => f.node === summary.node))
        into.fail(
          summary.node,
          summary.step ?? "build",
          new HiveError(summary.code ?? "HIVE_BUILD_FAILED", summary.message ?? "failed"),
        );
      else if (node !== undefined && summary.outcome !== "failed") into.add(node);
    }
  }
}

/** --dry-run: where each node would be built and what that takes; nothing is built or pushed. */
async function dryRun(
  hive: Hive,
  selected: readonly NodeName[],
  args: ApplyArgs,
  capabilities: BuildCapabilities,
  evalOptions: ChunkOptions,
  pushes: boolean,
): Promise<void> {
  const nodes = new Map<NodeName, { node: EvaluatedNode; placement: Placement }>();
  const failures: HiveError[] = [];
  await hive.evaluate(
    selected,
    (o) => {
      if (o.ok) nodes.set(o.node, { node: o.value, placement: placementOf(o.value, args, capabilities, pushes) });
      else failures.push(o.error);
    },
    evalOptions,
  );
  const ordered = selected.flatMap((n) => nodes.get(n) ?? []);
  const { text, nowhere } = await dryRunTable(ordered, args.substitute);
  process.stdout.write(`${text}\n`);
  for (const error of failures) printError(error.message, error.hint);
  if (nowhere > 0 || failures.length > 0) process.exitCode = EXIT.nodesFailed;
}

export async function runApply(goal: Goal, args: ApplyArgs, mode: ApplyMode = {}): Promise<void> {
  checkApplyArgs(goal, args, mode);
  const { local } = mode;
  const hive = await openHive(args);
  const filter = nodeFilterFrom(args);
  if (local === undefined && mode.diff === undefined && (GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].uploadsKeys))
    requireExplicitSelection(hive.info.meta.allowApplyAll, filter);
  const selected = local === undefined ? await hive.select(filter) : await selectLocalNode(hive, local);
  const capabilities = GOAL_TRAITS[goal].builds ? await buildCapabilities(hive, args) : undefined;
  const pool = new SshTransportPool();
  const localTransport = local === undefined ? undefined : new LocalTransport(local.sudo ? ["sudo", "-H", "--"] : []);
  const controller = new AbortController();
  // Every build, copy and command of the run listens to it: many at once is expected.
  setMaxListeners(0, controller.signal);
  // NDJSON when asked; else one live line per node on a terminal; plain lines for logs, CI and -v.
  const run = randomUUID();
  const json = args["log-format"] === "json" && mode.diff === undefined ? jsonRenderer(process.stdout, run) : undefined;
  const startedAt = Date.now();
  const keyTexts = new Map<NodeName, Promise<Map<string, string>>>();
  const transportFor = (node: DeployNode) => {
    if (localTransport !== undefined) return localTransport;
    const target = sshTargetOf(node);
    return target === undefined ? undefined : pool.transportFor(target, node.deployment.privilegeEscalationCommand);
  };
  // Build events go to whichever stage's renderer is current.
  let emit: (event: DeployEvent) => void = () => undefined;
  const scheduler =
    capabilities === undefined ? undefined : makeScheduler(args, capabilities, run, controller.signal, (e) => emit(e));
  const options: Omit<DeploymentOptions, "goal"> = {
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
    ...(scheduler ? { build: (node: NodeName, drv: DrvPath) => scheduler.build(node, drv) } : {}),
    gzip: args.gzip,
    substitute: args.substitute,
    reactivate: args.reactivate,
    forceReplaceUnknownProfiles: args["force-replace-unknown-profiles"],
    signal: controller.signal,
    transportFor,
  };
  let current: Deployment | undefined;
  const stage = async (stageGoal: Goal, feed: (d: Deployment) => Promise<void> | void) => {
    const renderer = stageRenderer(args, json, `${mode.local ? "apply-local" : "apply"} ${stageGoal}`, selected);
    emit = renderer.onEvent;
    current = new Deployment({ ...options, goal: stageGoal, onEvent: renderer.onEvent });
    await feed(current);
    const summaries = await current.finish();
    renderer.finish();
    const order = new Map(selected.map((n, i) => [n, i]));
    return summaries.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  };
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(
        "hive: interrupted: starting nothing new; running steps finish (Ctrl-C again to abort them)\n",
      );
      current?.stop();
    } else {
      controller.abort(new HiveError("HIVE_USAGE", "aborted"));
    }
  };
  process.on("SIGINT", onInterrupt);
  try {
    const evalOptions = { limits: evalLimitsFrom(args, selected.length), signal: controller.signal };
    const evaluate = async (into: {
      add: (n: DeployNode) => void;
      fail: (n: NodeName, e: HiveError, step?: DeployStep) => void;
    }) => {
      if (capabilities !== undefined) {
        await hive.evaluate(
          selected,
          (o) => {
            if (!o.ok) return into.fail(o.node, o.error);
            // Where it is built is decided before anything runs; a node nothing can build fails now.
            const placement = placementOf(o.value, args, capabilities, GOAL_TRAITS[goal].pushes);
            if (placement.kind === "nowhere") return into.fail(o.node, nowhereError(o.node, placement), "build");
            into.add({
              name: o.node,
              deployment: o.value.deployment,
              drvPath: o.value.drvPath,
              outPath: o.value.outPath,
              buildOnTarget: placement.kind === "target",
            });
          },
          evalOptions,
        );
      } else {
        await hive.nodeConfigs(selected, (o) => (o.ok ? into.add(o.value) : into.fail(o.node, o.error)), evalOptions);
      }
    };
    if (args["dry-run"]) {
      if (capabilities === undefined)
        throw new HiveError("HIVE_USAGE", `--dry-run shows builds, and ${goal} builds nothing`);
      await dryRun(hive, selected, args, capabilities, evalOptions, GOAL_TRAITS[goal].pushes);
      return;
    }
    let summaries: NodeSummary[];
    if (!args.confirm && mode.diff === undefined) {
      summaries = await stage(goal, (d) =>
        evaluate({ add: (n) => d.add(n), fail: (n, e, step = "evaluate") => d.fail(n, step, e) }),
      );
    } else {
      // Build everything first, show what changes, then deploy what built (builds are done by then).
      let evaluated: EvaluatedNodes | undefined;
      const built = await stage("build", (d) => evaluate((evaluated = new EvaluatedNodes(d))));
      if (interrupts > 0) {
        process.stdout.write(`\n${built.map(summaryLine).join("\n")}\n`);
        process.exitCode = EXIT.interrupted;
        return;
      }
      const plans = await planNodes(
        built.flatMap((s) => {
          const node = evaluated?.nodes.get(s.node);
          const transport = node && transportFor(node);
          return s.outcome === "succeeded" && s.system && transport
            ? [{ node: s.node, system: s.system, transport }]
            : [];
        }),
        args.parallel,
      );
      if (mode.diff?.json === true) process.stdout.write(`${JSON.stringify(planJson(plans), null, 2)}\n`);
      else (json ? process.stderr : process.stdout).write(`${renderPlan(plans)}\n`);
      const failures = built.filter((s) => s.outcome === "failed");
      if (mode.diff !== undefined) {
        if (failures.length > 0) {
          process.stderr.write(`\n${failures.map(summaryLine).join("\n")}\n`);
          process.exitCode = EXIT.nodesFailed;
        }
        return;
      }
      if (!args.yes && !(await ask(`Deploy to ${built.length - failures.length} node(s)? [y/N] `))) {
        process.stderr.write("hive: nothing deployed\n");
        process.exitCode = EXIT.nodesFailed;
        return;
      }
      summaries = await stage(goal, (d) => evaluated?.replay(d, built));
    }
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
      process.stdout.write(`\n${summaries.map(summaryPainter(args)).join("\n")}\n`);
    }
    if (summaries.some((s) => s.outcome === "failed")) process.exitCode = EXIT.nodesFailed;
    if (interrupts > 0) process.exitCode = EXIT.interrupted;
  } finally {
    process.off("SIGINT", onInterrupt);
    await pool.closeAll();
  }
}
