import { randomUUID } from "node:crypto";
import { join } from "node:path";
import {
  GOAL_TRAITS,
  HiveError,
  requireExplicitSelection,
  type DeployEvent,
  type Goal,
  type NodeName,
  type NodeResult,
  type Transport,
} from "@hive/core";
import type { Hive } from "@hive/eval";
import { FleetRun } from "@hive/deploy";
import { LocalTransport, localBuildSystems } from "@hive/nix";
import type { SshTransportPool } from "@hive/ssh";
import { evalLimitsFrom, namedNodes, nodeFilterFrom, openHive } from "../hive-options.js";
import { EXIT } from "../exit-codes.js";
import { Interrupts } from "../interrupts.js";
import { jsonRenderer } from "../json-renderer.js";
import { sshPool, sshTransports, sudoFrom } from "../ssh-targets.js";
import { planJson, renderPlan } from "../plan.js";
import { buildCapabilities, dryRunTable, schedulerOptions } from "../build-setup.js";
import { printError, printWarning } from "../report.js";
import { NodeTimes } from "../node-times.js";
import { TransferTally } from "../transfer-tally.js";
import { viaCacheFrom } from "../via-cache.js";
import { stepSummary, writeStepSummary } from "../step-summary.js";
import { rolloutPolicyFrom } from "../rollout-options.js";
import { recordLastRun, withOutcomeSelectors } from "../last-run.js";
import { ask, stageRenderer, summaryLine, summaryPainter } from "../run-output.js";
import type { ApplyArgs } from "./apply-options.js";
import { deployOrigin, hiveDirectory, selectLocalNode, type LocalTarget } from "./apply-context.js";

/** `hive rebuild`: where the one node goes (undefined: its own target) and where it is built. */
export interface RebuildTarget {
  target: { user: string | null; host: string } | undefined;
  build: "here" | "target" | { user: string | null; host: string };
}

/** How runApply runs: apply-local's target; diff stops after showing the plan; rebuild's hosts. */
export interface ApplyMode {
  local?: LocalTarget;
  diff?: { json: boolean };
  rebuild?: RebuildTarget;
}

function checkApplyArgs(goal: Goal, args: ApplyArgs, mode: ApplyMode): void {
  if (!Number.isFinite(args["activation-timeout"]) || args["activation-timeout"] <= 0)
    throw new HiveError("HIVE_USAGE", "--activation-timeout takes a number of seconds, more than 0");
  if (!Number.isFinite(args["confirm-timeout"]) || args["confirm-timeout"] < 1)
    throw new HiveError("HIVE_USAGE", "--confirm-timeout takes a number of seconds, at least 1");
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
  let current: FleetRun | undefined;
  const interrupts = new Interrupts(() => current?.stop());
  const uninstall = interrupts.install();
  const pool = sshPool(args);
  try {
    await applyWith(goal, args, mode, interrupts, pool, (r) => (current = r));
  } finally {
    uninstall();
    await pool.closeAll();
  }
}

/**
 * `hive rebuild`'s hosts, as settings of its one node: --target-host replaces the node's target;
 * --build-host is this machine (nothing to do), the target (the node builds on it), or another
 * host, whose transport it returns.
 */
function rebuildHosts(
  hive: Hive,
  selected: readonly NodeName[],
  rebuild: RebuildTarget,
  pool: SshTransportPool,
): Transport | undefined {
  const [node] = selected;
  if (node === undefined || selected.length !== 1) throw new Error("hive rebuild selects one node");
  const { target, build } = rebuild;
  // The user and port, when not given, are ssh_config's (as ssh would take them).
  if (target !== undefined) hive.override(node, { targetHost: target.host, targetUser: target.user, targetPort: null });
  if (build === "target") hive.override(node, { buildOnTarget: true });
  if (build === "here" || build === "target") return undefined;
  return pool.transportFor(
    { host: build.host, port: null, user: build.user, sshOptions: [], node },
    ["sudo", "-H", "--"],
    undefined,
  );
}

async function applyWith(
  goal: Goal,
  args: ApplyArgs,
  mode: ApplyMode,
  interrupts: Interrupts,
  pool: SshTransportPool,
  setCurrent: (run: FleetRun) => void,
): Promise<void> {
  const { local } = mode;
  const sudo = await sudoFrom(args);
  // Asked of the local Nix while the hive is evaluated, not after.
  const systems = GOAL_TRAITS[goal].builds ? localBuildSystems() : undefined;
  systems?.catch(() => undefined);
  // Named nodes are evaluated while the hive opens (a mistyped name costs that one query).
  const hive = await openHive(
    args,
    local === undefined && GOAL_TRAITS[goal].builds && !args["dry-run"] ? namedNodes(args) : undefined,
  );
  interrupts.check();
  const filter = await withOutcomeSelectors(nodeFilterFrom(args), hiveDirectory(hive));
  // -f REF#NODE names its node: that is a selection too.
  const named = hive.source.kind === "flake" && hive.source.node !== undefined;
  if (
    local === undefined &&
    !named &&
    mode.diff === undefined &&
    (GOAL_TRAITS[goal].pushes || GOAL_TRAITS[goal].uploadsKeys)
  )
    requireExplicitSelection(hive.info.meta.allowApplyAll, filter);
  const selected = local === undefined ? await hive.select(filter) : await selectLocalNode(hive, local);
  const buildHost = mode.rebuild === undefined ? undefined : rebuildHosts(hive, selected, mode.rebuild, pool);
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
  const runId = randomUUID();
  // Who deploys from where; the git state is found while the rest runs.
  const origin = deployOrigin(hive, runId);
  // Goals that build nothing (upload-keys) need not ask what can build.
  const capabilities = GOAL_TRAITS[goal].builds
    ? await buildCapabilities(hive, args, systems)
    : { localSystems: [], machines: [] };
  interrupts.check();
  // The command line's rollout flags win over the hive's meta.rollout, one by one.
  const fromHive = hive.info.meta.rollout;
  const rolloutArgs = {
    canary: args.canary ?? fromHive?.canary ?? undefined,
    waves: args.waves ?? fromHive?.waves ?? undefined,
    "max-failures": args["max-failures"] ?? fromHive?.maxFailures ?? undefined,
    soak: args.soak ?? fromHive?.soak ?? undefined,
  };
  const rolloutPolicy =
    GOAL_TRAITS[goal].activation === null ? undefined : await rolloutPolicyFrom(rolloutArgs, hive, selected);
  const viaCache = local === undefined ? viaCacheFrom(args, hive.info.meta) : undefined;
  const localTransport = local === undefined ? undefined : new LocalTransport(local.sudo ? ["sudo", "-H", "--"] : []);
  // NDJSON when asked; else one live line per node on a terminal; plain lines for logs, CI and -v.
  const json =
    args["log-format"] === "json" && mode.diff === undefined ? jsonRenderer(process.stdout, runId) : undefined;
  const startedAt = Date.now();
  const run = new FleetRun({
    hive,
    selected,
    evalLimits: evalLimitsFrom(args, selected.length),
    transportFor: localTransport === undefined ? sshTransports(pool, sudo) : () => localTransport,
    build: {
      scheduler: {
        ...schedulerOptions(args, capabilities, runId),
        ...(args["keep-result"] ? { gcRootDir: join(hiveDirectory(hive), ".gcroots") } : {}),
      },
      capabilities,
      onTarget: args["build-on-target"],
    },
    origin,
    noKeys: !args.keys,
    ...(buildHost !== undefined ? { buildHost } : {}),
    ...(args.reboot ? { reboot: { timeoutMs: args["reboot-timeout"] * 1000 } } : {}),
    parallel: args.parallel,
    gzip: args.gzip,
    substitute: args.substitute,
    reactivate: args.reactivate,
    forceReplaceUnknownProfiles: args["force-replace-unknown-profiles"],
    activationTimeoutMs: args["activation-timeout"] * 1000,
    breakLock: args["break-lock"],
    ...(args["fan-out"] === "auto" ? { fanOut: { stallMs: args["fan-out-stall"] * 1000 } } : {}),
    ...(viaCache !== undefined ? { viaCache } : {}),
    confirmTimeoutMs: args["magic-rollback"] ? args["confirm-timeout"] * 1000 : 0,
    ...(rolloutPolicy !== undefined ? { rolloutPolicy } : {}),
    rollbackOnHalt: args["rollback-on-halt"] || fromHive?.rollbackOnHalt === true,
    starting: interrupts.starting.signal,
    aborting: interrupts.aborting.signal,
  });
  setCurrent(run);
  const times = new NodeTimes();
  const transfers = new TransferTally();
  const commandName = mode.local ? "apply-local" : mode.rebuild ? "rebuild" : "apply";
  // Each stage renders on its own: the header names what runs ("build", "apply switch", "apply-local boot").
  const staged = async (stageGoal: Goal, work: (onEvent: (e: DeployEvent) => void) => Promise<NodeResult[]>) => {
    const title = stageGoal === "build" && !mode.rebuild ? "build" : `${commandName} ${stageGoal}`;
    const renderer = stageRenderer(args, json, title, selected);
    try {
      return await work((event) => {
        times.onEvent(event);
        transfers.onEvent(event);
        renderer.onEvent(event);
      });
    } finally {
      renderer.finish();
    }
  };

  if (args["dry-run"]) {
    if (buildHost !== undefined) throw new HiveError("HIVE_USAGE", "--dry-run shows builds here, not on --build-host");
    if (!GOAL_TRAITS[goal].builds)
      throw new HiveError("HIVE_USAGE", `--dry-run shows builds, and ${goal} builds nothing`);
    const { rows, failures } = await run.dryRun(goal);
    process.stdout.write(`${dryRunTable(rows)}\n`);
    for (const error of failures) printError(error.message, error.hint);
    if (rows.some((r) => r.placement.kind === "nowhere") || failures.length > 0) process.exitCode = EXIT.nodesFailed;
    return;
  }
  let results: NodeResult[];
  if (!args.confirm && mode.diff === undefined) {
    results = await staged(goal, (onEvent) => run.apply(goal, onEvent));
  } else {
    // Build everything first, show what changes, then deploy what built (builds are done by then).
    let built: Awaited<ReturnType<FleetRun["build"]>> | undefined;
    await staged("build", async (onEvent) => (built = await run.build(goal, onEvent)).results);
    if (built === undefined) return;
    if (interrupts.count > 0) {
      process.stdout.write(`\n${built.results.map(summaryLine).join("\n")}\n`);
      process.exitCode = EXIT.interrupted;
      return;
    }
    const plans = await run.planBuilt(built);
    if (mode.diff?.json === true) process.stdout.write(`${JSON.stringify(planJson(plans), null, 2)}\n`);
    else (json ? process.stderr : process.stdout).write(`${renderPlan(plans)}\n`);
    const failures = built.results.filter((s) => s.outcome === "failed");
    if (mode.diff !== undefined) {
      if (failures.length > 0) {
        process.stderr.write(`\n${failures.map(summaryLine).join("\n")}\n`);
        process.exitCode = EXIT.nodesFailed;
      }
      return;
    }
    if (!args.yes && !(await ask(`Deploy to ${built.results.length - failures.length} node(s)? [y/N] `))) {
      process.stderr.write("hive: nothing deployed\n");
      process.exitCode = EXIT.nodesFailed;
      return;
    }
    const ready = built;
    results = await staged(goal, (onEvent) => run.deployBuilt(goal, ready, onEvent));
  }
  await recordLastRun(hiveDirectory(hive), runId, results);
  const summaryFile = process.env["GITHUB_STEP_SUMMARY"];
  if (summaryFile)
    await writeStepSummary(
      summaryFile,
      stepSummary(`${commandName} ${goal}`, results, times, Date.now() - startedAt, runId),
      printWarning,
    );
  else if (args["log-format"] === "github")
    printWarning("GITHUB_STEP_SUMMARY is not set: no step summary written (it is set in GitHub Actions jobs)");
  if (json) {
    json.summary(results, Date.now() - startedAt, {
      uplinkBytes: transfers.uplinkBytes,
      peerBytes: transfers.peerBytes,
    });
    json.flush();
  } else {
    process.stdout.write(`\n${results.map(summaryPainter(args)).join("\n")}\n`);
    const moved = transfers.line();
    if (moved !== undefined) process.stdout.write(`${moved}\n`);
  }
  if (results.some((s) => s.outcome === "failed")) process.exitCode = EXIT.nodesFailed;
  if (interrupts.count > 0) process.exitCode = EXIT.interrupted;
}
