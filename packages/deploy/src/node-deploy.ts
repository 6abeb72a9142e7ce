import {
  HiveError,
  LineSplitter,
  parseStorePath,
  GOAL_TRAITS,
  type DeployEvent,
  type Goal,
  type HealthCheck,
  type StorePath,
} from "@hive/core";
import { closureOf, invalidPaths, type PathInfo } from "@hive/nix";
import { activate, type ActivationPlan } from "./activator.js";
import { activationFailure, hostNow } from "./activation-failure.js";
import type { HostState } from "./host-state.js";
import type { Host } from "./host.js";
import { checksBudgetSeconds, failedUnitsCheck, runHealthChecks } from "./health-checks.js";
import { copyClosure, refuseIfFull, sendPaths, type TargetState } from "./copier.js";
import { TargetStore } from "./target-store.js";
import type { SharedExporter } from "./shared-export.js";
import { appendHistory, type DeployOrigin, type DeployRecord } from "./history.js";
import type { Holding, PeerBroker, PeerSpec } from "./peer-broker.js";
import type { CacheRelay } from "./cache-relay.js";
import { throttleProgress } from "./progress-throttle.js";

export interface NodeDeployOptions {
  goal: Goal;
  gzip: boolean;
  substitute: boolean;
  reactivate: boolean;
  forceReplaceUnknownProfiles: boolean;
  replaceUnknownProfiles: boolean;
  /**
   * Magic rollback: how long the host waits for hive to confirm a switch (or test) over a new
   * connection before it restores the previous system; 0 turns it off (--no-magic-rollback).
   */
  confirmTimeoutMs: number;
  /** The node's own deployment.magicRollback (hive extension; on unless set false). */
  magicRollback: boolean;
  /** The node's deployment.healthChecks (hive extension), run before an activation is confirmed. */
  healthChecks: readonly HealthCheck[];
  /** The built-in check that no systemd unit failed since the activation (deployment.checkFailedUnits). */
  checkFailedUnits: boolean;
  /** A reboot follows the activation (--reboot): goal boot arms the boot watch (magic rollback). */
  rebootAfter: boolean;
  onEvent: (event: DeployEvent) => void;
  exporter: SharedExporter;
  /** Recorded in the host's deploy history at each activation. */
  origin?: DeployOrigin;
  /** Stop an activation that runs longer, and restore the previous system (--activation-timeout). */
  activationTimeoutMs: number;
  /** Take a host's deploy lock even from a live holder (--break-lock). */
  breakLock: boolean;
  /** Fan-out: the run's broker and this node's place in it (deployment.fanOut, --fan-out auto). */
  peers?: { broker: PeerBroker; spec: PeerSpec };
  /** --via-cache: the system goes through the operator's binary cache first. */
  cache?: CacheRelay;
}

/** How long a host may stay unreachable while it activates before hive stops waiting for it. */
const UNREACHABLE_MS = 60_000;

/** Whether a system the host runs is one this machine's store knows (hive deployed it). */
export async function knownHere(system: string, signal: { signal?: AbortSignal } = {}): Promise<boolean> {
  let path: StorePath;
  try {
    path = parseStorePath(system);
  } catch {
    return false;
  }
  return (await invalidPaths([path], signal)).size === 0;
}

/**
 * Whether hive deployed a system the host has: it is in the host's history, or (asked only when
 * not) in this machine's store. What apply refuses to replace unasked, and status calls unknown.
 */
export async function hiveKnows(
  state: HostState,
  system: string,
  signal: { signal?: AbortSignal } = {},
): Promise<boolean> {
  return state.history.some((r) => r.system === system) || (await knownHere(system, signal));
}

/**
 * Refuses, before anything is pushed, to replace a system profile hive does not know (set by
 * someone else) where deployment.replaceUnknownProfiles = false, unless forced.
 */
export async function refuseUnknownProfile(host: Host, state: HostState, options: NodeDeployOptions): Promise<void> {
  if (
    !GOAL_TRAITS[options.goal].switchesProfile ||
    state.profile === undefined ||
    options.replaceUnknownProfiles ||
    options.forceReplaceUnknownProfiles ||
    (await hiveKnows(state, state.profile, host.signal ? { signal: host.signal } : {}))
  )
    return;
  throw new HiveError(
    "HIVE_UNKNOWN_PROFILE",
    `node ${host.node}: activate: the host runs a profile hive does not know (${state.profile})`,
    {
      hint: "it was set by someone else, or its system was garbage-collected here; deployment.replaceUnknownProfiles = true or --force-replace-unknown-profiles replaces it",
    },
  );
}

/**
 * Pushes a node's system to it (unless there is nothing to push); with fan-out, from peers first.
 * `closure`: the system's closure, when the caller asked for it ahead. `joined`: called once the
 * push has joined the shared export (or will not), for a caller that said it was coming.
 */
export async function pushNode(
  host: Host,
  system: StorePath,
  options: NodeDeployOptions,
  closure: Promise<PathInfo[]> = closureOf([system], host.signal ? { signal: host.signal } : {}),
  joined: () => void = () => undefined,
): Promise<void> {
  const node = host.node;
  options.onEvent({ type: "step", node, step: "push" });
  await options.cache?.fill(host, system);
  const peers = options.peers;
  // One server on the target for the whole step: every question and every path goes through it.
  const store = new TargetStore(host);
  let state: TargetState | undefined;
  let holding: Holding | undefined;
  const push = {
    gzip: options.gzip,
    onProgress: throttleProgress((bytes, totalBytes) =>
      options.onEvent({ type: "progress", node, step: "push", bytes, totalBytes }),
    ),
  };
  // Hosts pushing at the same time share one export of what they lack (an export waits for every
  // host that joined to ask or leave: a host waiting for a peer joins only when it sends).
  const direct = async <T>(send: (exporter: ReturnType<SharedExporter["join"]>) => Promise<T>): Promise<T> => {
    const exporter = options.exporter.join();
    joined();
    try {
      return await send(exporter);
    } finally {
      exporter.leave();
    }
  };
  // A host that first waits for its peers joins the export only when it sends.
  if (peers !== undefined) joined();
  try {
    const wanted = await closure;
    if (peers !== undefined) {
      state = await store.query(wanted, options.substitute);
      refuseIfFull(host, state);
    }
    if (peers !== undefined && state !== undefined)
      holding = await peers.broker.fill(host, peers.spec, wanted, state.missing, async (paths) => {
        const bytes = await direct((exporter) => sendPaths(store, paths, { ...push, exporter }));
        options.onEvent({ type: "transfer", node, from: "deployer", bytes });
      });
    const result = await direct((exporter) =>
      copyClosure(host, system, {
        ...push,
        exporter,
        substitute: options.substitute,
        store,
        closure: wanted,
      }),
    );
    await store.close();
    if (result.bytes > 0) options.onEvent({ type: "transfer", node, from: "deployer", bytes: result.bytes });
    options.onEvent({
      type: "log",
      node,
      step: "push",
      line: `${result.copied} of ${result.paths} paths copied (${result.bytes} bytes)`,
    });
    holding?.done(true);
  } catch (error) {
    store.abandon();
    holding?.done(false);
    throw error;
  }
}

/**
 * Builds a node's system on its host from the derivations pushed there: the host's own Nix
 * builds it, substituting what it can; nothing comes back to this machine.
 */
export async function buildOnTarget(
  host: Host,
  drv: StorePath,
  options: NodeDeployOptions,
  announce = true,
): Promise<void> {
  const node = host.node;
  if (announce) options.onEvent({ type: "step", node, step: "build", detail: "on the target" });
  const lines = new LineSplitter((line) => options.onEvent({ type: "log", node, step: "build", line }));
  const result = await host.exec(
    ["nix-store", "--realise", drv, ...(options.substitute ? [] : ["--option", "substitute", "false"])],
    { privileged: true, onStderr: (chunk) => lines.push(chunk) },
  );
  const tail = lines.end();
  if (result.exitCode !== 0)
    throw new HiveError(
      "HIVE_BUILD_FAILED",
      `node ${node}: build: building ${drv} on ${host.description} failed:\n${tail.slice(-15).join("\n")}`,
      { hint: `nix log ${drv} on the host has the whole log` },
    );
}

/**
 * Whether the host already runs (or, for boot, will boot) this system: it runs it, its profile
 * points at it, and its last recorded deploy of it did not fail. Anything less is activated again.
 */
export function isUnchanged(state: HostState, system: StorePath, options: NodeDeployOptions): boolean {
  const traits = GOAL_TRAITS[options.goal];
  if (!traits.skipsUnchanged || options.reactivate) return false;
  const last = state.history.findLast((r) => r.system === system);
  if (last !== undefined && last.outcome !== "succeeded") return false;
  switch (traits.activation) {
    case "boot":
      return state.profile === system;
    case "test":
      return state.current === system;
    default:
      return state.current === system && state.profile === system;
  }
}

/**
 * Activates a pushed system as the goal says. The host sets the profile and runs
 * switch-to-configuration; if that fails, times out or is cut off, the previous system is
 * restored (profile and running system both) and the node fails with what the host runs now.
 */
export async function activateNode(
  host: Host,
  system: StorePath,
  state: HostState,
  options: NodeDeployOptions,
): Promise<ActivationPlan | undefined> {
  const node = host.node;
  const traits = GOAL_TRAITS[options.goal];
  if (traits.activation === null) return undefined;
  options.onEvent({ type: "step", node, step: "activate", detail: traits.activation });
  const previous = traits.switchesProfile
    ? { generation: state.generation, system: state.profile }
    : { generation: undefined, system: state.current };
  // Only what changes the running system can lock hive out or fail its checks, so only that
  // waits for confirmation: over a new connection (magic rollback), after the health checks.
  const live = traits.activation === "switch" || traits.activation === "test";
  const reconnect = live && options.confirmTimeoutMs > 0 && options.magicRollback;
  const checks = live ? options.healthChecks : [];
  const unitsCheck = live && options.checkFailedUnits && state.systemd;
  // Goal boot changes nothing running until the reboot: then the boot watch waits for hive.
  const bootWatch =
    traits.activation === "boot" && options.rebootAfter && options.confirmTimeoutMs > 0 && options.magicRollback;
  const confirmSeconds = bootWatch
    ? Math.ceil(options.confirmTimeoutMs / 1000) + checksBudgetSeconds(options.healthChecks)
    : reconnect || checks.length > 0 || unitsCheck
      ? Math.ceil((reconnect ? options.confirmTimeoutMs : 10_000) / 1000) +
        checksBudgetSeconds(unitsCheck ? [...checks, failedUnitsCheck("")] : checks)
      : 0;
  const plan = {
    system,
    action: traits.activation,
    setProfile: traits.switchesProfile,
    previous,
    confirmSeconds,
    reconnect,
    bootWatch,
  };
  const result = await activate(host, plan, {
    ...(checks.length > 0 || unitsCheck
      ? {
          check: ({ base, systemd }) =>
            runHealthChecks(host, unitsCheck && systemd ? [failedUnitsCheck(base), ...checks] : checks, (line) =>
              options.onEvent({ type: "log", node, step: "activate", line }),
            ),
        }
      : {}),
    timeoutMs: options.activationTimeoutMs,
    // Long enough to see the host restore itself when hive cannot get back in.
    unreachableMs: Math.max(Math.min(options.activationTimeoutMs, UNREACHABLE_MS), (confirmSeconds + 30) * 1000),
    onWaiting: (reason) => options.onEvent({ type: "warning", node, message: reason }),
    onLog: (line) => options.onEvent({ type: "log", node, step: "activate", line }),
  });
  for (const line of result.log.split("\n"))
    if (line !== "") options.onEvent({ type: "log", node, step: "activate", line });
  const succeeded =
    result.exitCode === 0 &&
    result.interruption === undefined &&
    result.unconfirmed === undefined &&
    result.checkFailed === undefined;
  const outcome = succeeded ? "succeeded" : result.rollback === "ok" ? "rolled-back" : "failed";
  await recordDeploy(host, options, {
    system,
    outcome,
    ...(result.generation !== undefined && traits.switchesProfile && succeeded
      ? { generation: result.generation }
      : {}),
    ...(previous.generation !== undefined ? { previousGeneration: previous.generation } : {}),
  });
  if (succeeded) return result.watchBase === undefined ? plan : { ...plan, watchBase: result.watchBase };
  throw activationFailure(node, system, traits.activation, previous, result, options);
}

/**
 * Puts back what a successful activation replaced (--rollback-on-halt): the previous generation
 * and its switch-to-configuration, run on the host as a failed activation's restore is.
 */
export async function rollBackNode(
  host: Host,
  plan: ActivationPlan,
  why: string,
  options: NodeDeployOptions,
): Promise<HiveError> {
  const node = host.node;
  options.onEvent({ type: "step", node, step: "rollback", detail: why });
  const result = await activate(
    host,
    { ...plan, confirmSeconds: 0 },
    { timeoutMs: options.activationTimeoutMs, unreachableMs: UNREACHABLE_MS },
    "rollback",
  );
  for (const line of result.log.split("\n"))
    if (line !== "") options.onEvent({ type: "log", node, step: "rollback", line });
  await recordDeploy(host, options, {
    system: plan.system,
    outcome: result.rollback === "ok" ? "rolled-back" : "failed",
    ...(plan.previous.generation !== undefined ? { previousGeneration: plan.previous.generation } : {}),
  });
  const now = hostNow(result);
  return result.rollback === "ok"
    ? new HiveError(
        "HIVE_ACTIVATION_FAILED",
        `node ${node}: rollback: switched, then rolled back because ${why}: ${now}`,
      )
    : new HiveError(
        "HIVE_ROLLBACK_FAILED",
        `node ${node}: rollback: switched, and rolling it back because ${why} failed (${typeof result.rollback === "object" ? result.rollback.failed : result.rollback}): ${now}`,
        { hint: `the whole output is in ${result.logPath} on the host` },
      );
}

/** Appends the activation to the host's history; a failure to record is a warning, not a failed deploy. */
async function recordDeploy(
  host: Host,
  options: NodeDeployOptions,
  result: Pick<DeployRecord, "system" | "outcome" | "generation" | "previousGeneration">,
): Promise<void> {
  if (options.origin === undefined) return;
  const { git: gitState, ...origin } = options.origin;
  try {
    const git = await gitState?.catch(() => undefined);
    await appendHistory(host, {
      v: 1,
      time: new Date().toISOString(),
      ...origin,
      ...(git !== undefined ? { git } : {}),
      goal: options.goal,
      ...result,
    });
  } catch (error) {
    options.onEvent({
      type: "warning",
      node: host.node,
      message: `could not record the deploy in the host's history: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
