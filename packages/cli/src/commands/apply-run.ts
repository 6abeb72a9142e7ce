import { randomUUID } from "node:crypto";
import { join } from "node:path";
import {
  GOAL_TRAITS,
  HiveError,
  requireExplicitSelection,
  type DeployEvent,
  type DeployStep,
  type DrvPath,
  type Goal,
  type NodeName,
} from "@hive/core";
import { Deployment, type DeployNode, type DeploymentOptions, type NodeSummary } from "@hive/deploy";
import { LocalTransport } from "@hive/nix";
import { SshTransportPool } from "@hive/ssh";
import { evalLimitsFrom, nodeFilterFrom, openHive } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { Interrupts } from "../interrupts.js";
import { jsonRenderer } from "../json-renderer.js";
import { sshTargetOf } from "../ssh-targets.js";
import { planJson, planNodes, renderPlan } from "../plan.js";
import { buildCapabilities, makeScheduler, nowhereError, placementOf } from "../build-setup.js";
import { ask, stageRenderer, summaryLine, summaryPainter } from "../run-output.js";
import type { ApplyArgs } from "./apply-options.js";
import { deployOrigin, hiveDirectory, selectLocalNode, type LocalTarget } from "./apply-context.js";
import { dryRun, EvaluatedNodes } from "./apply-stages.js";

/** How runApply runs: apply-local's target; diff stops after showing the plan. */
export interface ApplyMode {
  local?: LocalTarget;
  diff?: { json: boolean };
}

function checkApplyArgs(goal: Goal, args: ApplyArgs, mode: ApplyMode): void {
  if (!Number.isInteger(args.parallel) || args.parallel < 1)
    throw new HiveError("HIVE_USAGE", "--parallel takes a whole number, at least 1");
  if (!Number.isFinite(args["activation-timeout"]) || args["activation-timeout"] <= 0)
    throw new HiveError("HIVE_USAGE", "--activation-timeout takes a number of seconds, more than 0");
  if (args.confirm && mode.diff === undefined) {
    if (!GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].activation === null)
      throw new HiveError("HIVE_USAGE", `--confirm needs a goal that activates a system, not ${goal}`);
    if (!args.yes && !process.stdin.isTTY)
      throw new HiveError("HIVE_USAGE", "--confirm asks on a terminal, and stdin is not one", {
        hint: "pass --yes to show the plan and deploy without asking",
      });
  }
}

export async function runApply(goal: Goal, args: ApplyArgs, mode: ApplyMode = {}): Promise<void> {
  checkApplyArgs(goal, args, mode);
  let current: Deployment | undefined;
  const interrupts = new Interrupts(() => current?.stop());
  const uninstall = interrupts.install();
  const pool = new SshTransportPool();
  try {
    await applyWith(goal, args, mode, interrupts, pool, (d) => (current = d));
  } finally {
    uninstall();
    await pool.closeAll();
  }
}

async function applyWith(
  goal: Goal,
  args: ApplyArgs,
  mode: ApplyMode,
  interrupts: Interrupts,
  pool: SshTransportPool,
  setCurrent: (d: Deployment) => void,
): Promise<void> {
  const { local } = mode;
  const hive = await openHive(args);
  interrupts.check();
  const filter = nodeFilterFrom(args);
  if (local === undefined && mode.diff === undefined && (GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].uploadsKeys))
    requireExplicitSelection(hive.info.meta.allowApplyAll, filter);
  const selected = local === undefined ? await hive.select(filter) : await selectLocalNode(hive, local);
  if (selected.length === 0 && (GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].uploadsKeys))
    throw new HiveError(
      "HIVE_NO_NODES_SELECTED",
      args.on === undefined
        ? `the hive has no nodes: nothing to ${goal}`
        : `--on ${JSON.stringify(args.on.join(","))} selects no node: nothing to ${goal}`,
      {
        hint: "an exclusion alone (!x) selects every node it does not match; hive nodes lists the nodes and tags",
      },
    );
  const capabilities = GOAL_TRAITS[goal].builds ? await buildCapabilities(hive, args) : undefined;
  interrupts.check();
  const localTransport = local === undefined ? undefined : new LocalTransport(local.sudo ? ["sudo", "-H", "--"] : []);
  const { starting, aborting: controller } = interrupts;
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
    capabilities === undefined ? undefined : makeScheduler(args, capabilities, run, starting.signal, (e) => emit(e));
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
    activationTimeoutMs: args["activation-timeout"] * 1000,
    breakLock: args["break-lock"],
    signal: controller.signal,
    transportFor,
  };
  const stage = async (stageGoal: Goal, feed: (d: Deployment) => Promise<void> | void) => {
    // The header names what runs: "build", "apply switch", "apply-local boot".
    const title = stageGoal === "build" ? "build" : `${mode.local ? "apply-local" : "apply"} ${stageGoal}`;
    const renderer = stageRenderer(args, json, title, selected);
    emit = renderer.onEvent;
    const deployment = new Deployment({ ...options, goal: stageGoal, onEvent: renderer.onEvent });
    setCurrent(deployment);
    if (interrupts.count > 0) deployment.stop();
    try {
      await feed(deployment);
    } catch (error) {
      // Evaluation stopped by an interruption: the nodes it did not reach are skipped.
      if (!starting.signal.aborted) throw error;
      deployment.skipUnstarted(selected, "evaluate");
    }
    const summaries = await deployment.finish();
    renderer.finish();
    const order = new Map(selected.map((n, i) => [n, i]));
    return summaries.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  };
  const evalOptions = { limits: evalLimitsFrom(args, selected.length), signal: starting.signal };
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
    if (interrupts.count > 0) {
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
  if (interrupts.count > 0) process.exitCode = EXIT.interrupted;
}
