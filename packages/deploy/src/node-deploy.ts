import {
  HiveError,
  LineSplitter,
  parseStorePath,
  GOAL_TRAITS,
  type DeployEvent,
  type Goal,
  type NodeName,
  type StorePath,
  type Transport,
} from "@hive/core";
import { invalidPaths } from "@hive/nix";
import { activate, readRemoteLink, SYSTEM_PROFILE } from "./activator.js";
import { copyClosure } from "./copier.js";
import { runOn } from "./remote-command.js";
import type { SharedExporter } from "./shared-export.js";
import { appendHistory, type DeployOrigin, type DeployRecord } from "./history.js";

export interface NodeDeployOptions {
  goal: Goal;
  gzip: boolean;
  substitute: boolean;
  reactivate: boolean;
  forceReplaceUnknownProfiles: boolean;
  replaceUnknownProfiles: boolean;
  signal?: AbortSignal;
  onEvent: (event: DeployEvent) => void;
  exporter?: SharedExporter;
  /** Recorded in the host's deploy history at each activation. */
  origin?: DeployOrigin;
}

export type PushedOutcome = { kind: "pushed" } | { kind: "unchanged" };

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

/** Pushes a node's system to it (unless there is nothing to push). */
export async function pushNode(
  transport: Transport,
  node: NodeName,
  system: StorePath,
  options: NodeDeployOptions,
): Promise<void> {
  options.onEvent({ type: "step", node, step: "push" });
  // Hosts pushing at the same time share one export of what they lack.
  const exporter = options.exporter?.join();
  try {
    const result = await copyClosure(transport, node, system, {
      gzip: options.gzip,
      substitute: options.substitute,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(exporter ? { exporter } : {}),
      onProgress: (bytes, totalBytes) => options.onEvent({ type: "progress", node, step: "push", bytes, totalBytes }),
    });
    options.onEvent({
      type: "log",
      node,
      step: "push",
      line: `${result.copied} of ${result.paths} paths copied (${result.bytes} bytes)`,
    });
  } finally {
    exporter?.leave();
  }
}

/**
 * Builds a node's system on its host from the derivations pushed there: the host's own Nix
 * builds it, substituting what it can; nothing comes back to this machine.
 */
export async function buildOnTarget(
  transport: Transport,
  node: NodeName,
  drv: StorePath,
  options: NodeDeployOptions,
): Promise<void> {
  options.onEvent({ type: "step", node, step: "build", detail: "on the target" });
  const lines = new LineSplitter((line) => options.onEvent({ type: "log", node, step: "build", line }));
  const result = await transport.exec(
    ["nix-store", "--realise", drv, ...(options.substitute ? [] : ["--option", "substitute", "false"])],
    {
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
      onStderr: (chunk) => lines.push(chunk),
    },
  );
  const tail = lines.end();
  if (result.exitCode !== 0)
    throw new HiveError(
      "HIVE_BUILD_FAILED",
      `node ${node}: build: building ${drv} on ${transport.description} failed:\n${tail.slice(-15).join("\n")}`,
      { hint: `nix log ${drv} on the host has the whole log` },
    );
}

/** Whether the host already runs (or, for boot, will boot) this system. */
export async function isUnchanged(
  transport: Transport,
  system: StorePath,
  options: NodeDeployOptions,
): Promise<boolean> {
  const traits = GOAL_TRAITS[options.goal];
  if (!traits.skipsUnchanged || options.reactivate) return false;
  const path = traits.activation === "boot" ? SYSTEM_PROFILE : "/run/current-system";
  return (await readRemoteLink(transport, path, options.signal ? { signal: options.signal } : {})) === system;
}

/**
 * Activates a pushed system as the goal says: set the profile (remembering the generation before),
 * run switch-to-configuration detached; if that fails, put the previous generation back.
 */
export async function activateNode(
  transport: Transport,
  node: NodeName,
  system: StorePath,
  options: NodeDeployOptions,
): Promise<void> {
  const traits = GOAL_TRAITS[options.goal];
  if (traits.activation === null) return;
  options.onEvent({ type: "step", node, step: "activate", detail: traits.activation });
  const signal = options.signal ? { signal: options.signal } : {};
  let previousGeneration: string | undefined;
  if (traits.switchesProfile) {
    const current = await readRemoteLink(transport, SYSTEM_PROFILE, signal);
    if (
      current !== undefined &&
      !options.replaceUnknownProfiles &&
      !options.forceReplaceUnknownProfiles &&
      !(await knownHere(current, signal))
    ) {
      throw new HiveError(
        "HIVE_UNKNOWN_PROFILE",
        `node ${node}: activate: the host runs a profile hive does not know (${current})`,
        {
          hint: "it was set by someone else, or its system was garbage-collected here; deployment.replaceUnknownProfiles = true or --force-replace-unknown-profiles replaces it",
        },
      );
    }
    previousGeneration = await profileGeneration(transport, signal);
    await runOn(transport, node, "activate", ["nix-env", "--profile", SYSTEM_PROFILE, "--set", system], {
      privileged: true,
      ...signal,
    });
  }
  const generation = traits.switchesProfile ? await profileGeneration(transport, signal) : undefined;
  const record = (outcome: DeployRecord["outcome"]) =>
    recordDeploy(transport, node, options, {
      system,
      outcome,
      ...(generation !== undefined ? { generation: Number(generation) } : {}),
      ...(previousGeneration !== undefined ? { previousGeneration: Number(previousGeneration) } : {}),
    });
  const result = await activate(transport, node, system, traits.activation, {
    ...signal,
    onWaiting: (reason) => options.onEvent({ type: "warning", node, message: reason }),
  });
  for (const line of result.log.split("\n"))
    if (line !== "") options.onEvent({ type: "log", node, step: "activate", line });
  if (result.exitCode === 0) {
    await record("succeeded");
    return;
  }

  const tail = result.log.trim().split("\n").slice(-10).join("\n");
  let restored = "";
  if (traits.switchesProfile) {
    if (previousGeneration !== undefined) {
      options.onEvent({ type: "step", node, step: "rollback", detail: `generation ${previousGeneration}` });
      await runOn(
        transport,
        node,
        "rollback",
        ["nix-env", "--profile", SYSTEM_PROFILE, "--switch-generation", previousGeneration],
        { privileged: true },
      );
      restored = `; the system profile was restored to generation ${previousGeneration}`;
    } else {
      restored = "; there was no earlier generation of the system profile to restore";
    }
  }
  await record(previousGeneration !== undefined && traits.switchesProfile ? "rolled-back" : "failed");
  throw new HiveError(
    "HIVE_ACTIVATION_FAILED",
    `node ${node}: activate: switch-to-configuration ${traits.activation} exited with ${result.exitCode}${restored}:\n${tail}`,
  );
}

/** The system profile's current generation number on the host, if it has one. */
async function profileGeneration(transport: Transport, signal: { signal?: AbortSignal }): Promise<string | undefined> {
  const link = await transport.exec(["readlink", SYSTEM_PROFILE], { privileged: true, ...signal });
  return /^system-(\d+)-link$/.exec(link.stdout.trim())?.[1];
}

/** Appends the activation to the host's history; a failure to record is a warning, not a failed deploy. */
async function recordDeploy(
  transport: Transport,
  node: NodeName,
  options: NodeDeployOptions,
  result: Pick<DeployRecord, "system" | "outcome" | "generation" | "previousGeneration">,
): Promise<void> {
  if (options.origin === undefined) return;
  try {
    await appendHistory(transport, {
      v: 1,
      time: new Date().toISOString(),
      ...options.origin,
      goal: options.goal,
      ...result,
    });
  } catch (error) {
    options.onEvent({
      type: "warning",
      node,
      message: `could not record the deploy in the host's history: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
