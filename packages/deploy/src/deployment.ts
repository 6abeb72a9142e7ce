import { randomUUID } from "node:crypto";
import { availableParallelism, hostname, userInfo } from "node:os";
import PQueue from "p-queue";
import {
  GOAL_TRAITS,
  HiveError,
  isHiveError,
  parseStorePath,
  type DeployEvent,
  type DeployStep,
  type Deployment as NodeDeployment,
  type DrvPath,
  type HiveErrorCode,
  type NodeName,
  type NodeOutcomeKind,
  type StorePath,
  type Transport,
} from "@hive/core";
import { join } from "node:path";
import { addGcRoot, realiseDerivation } from "@hive/nix";
import { activateNode, buildOnTarget, isUnchanged, pushNode, type NodeDeployOptions } from "./node-deploy.js";
import { uploadKeys, type KeySources } from "./keys.js";
import { rebootAndWait } from "./reboot.js";
import { SharedExporter } from "./shared-export.js";
import { describeHolder, lockHost, type HostLock, type LockHolder } from "./host-lock.js";

export interface DeployNode {
  name: NodeName;
  deployment: NodeDeployment;
  /** The system's derivation (not needed by goals that build nothing, e.g. upload-keys). */
  drvPath?: DrvPath;
  /** The system it builds, known from evaluation. */
  outPath?: StorePath;
  /** Build on the target (copy the derivations there, realise there, copy nothing back). */
  buildOnTarget?: boolean;
}

export interface NodeSummary {
  node: NodeName;
  outcome: NodeOutcomeKind;
  step?: DeployStep;
  message?: string;
  code?: HiveErrorCode;
  hint?: string;
  system?: StorePath;
}

/** A node's failure as its summary: the error's message, code and hint; an interruption skips it. */
export function failedSummary(node: NodeName, step: DeployStep, error: unknown): NodeSummary {
  if (isHiveError(error) && error.code === "HIVE_INTERRUPTED")
    return { node, outcome: "skipped", step, message: `interrupted at ${step}` };
  if (!isHiveError(error)) {
    // A bug in hive fails its node with what is known, and the run goes on to its summary.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      node,
      outcome: "failed",
      step,
      message: `node ${node}: ${step}: internal error: ${message}`,
      hint: "this is a bug in hive: please report it with this message",
    };
  }
  return {
    node,
    outcome: "failed",
    step,
    message: error.message,
    code: error.code,
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
  };
}

function tookOverMessage(tookOver: { holder: LockHolder | undefined; alive: boolean }): string {
  return tookOver.alive
    ? `--break-lock: took the host's deploy lock from ${describeHolder(tookOver.holder)}, which still runs`
    : `took over the host's deploy lock left by ${describeHolder(tookOver.holder)}, which is gone`;
}

export interface DeploymentOptions extends Omit<NodeDeployOptions, "replaceUnknownProfiles" | "onEvent"> {
  /** Nodes pushed or activated at once (each phase has its own limit). */
  parallel: number;
  /** Keep each node's system as a GC root: `<dir>/node-<name>` (--keep-result). */
  gcRootDir?: string;
  /** Local builds at once (without a scheduler). */
  buildJobs?: number;
  /** Builds node systems here or on remote builders; without one, each node's toplevel is realised alone. */
  build?: (node: NodeName, drv: DrvPath) => Promise<StorePath>;
  /** How to reach a node; undefined when it cannot be reached (targetHost null). */
  transportFor: (node: DeployNode) => Transport | undefined;
  /** Reboot after activating (goals switch and boot), wait for the new boot and check it. */
  reboot?: { timeoutMs: number };
  /** Skip deployment.keys (--no-keys). */
  noKeys: boolean;
  keySources: KeySources;
  onEvent?: (event: DeployEvent) => void;
}

/**
 * A deploy across many nodes. Each node goes build -> push -> activate as soon as it is ready,
 * through one queue per phase with its own limit (a node waiting for a build holds no push slot).
 * One node's failure never stops the others.
 */
export class Deployment {
  private readonly builds = new Map<DrvPath, Promise<StorePath>>();
  private readonly buildQueue: PQueue;
  private readonly pushQueue: PQueue;
  private readonly activateQueue: PQueue;
  private readonly running: Promise<void>[] = [];
  private readonly summaries = new Map<NodeName, NodeSummary>();
  private readonly added = new Set<NodeName>();
  private stopping = false;
  /** Hosts copying at the same time share one export of what they lack. */
  readonly exporter = new SharedExporter();
  /** Who this run is, in the deploy lock of every host it changes. */
  private readonly holder: LockHolder;

  constructor(private readonly options: DeploymentOptions) {
    this.buildQueue = new PQueue({ concurrency: options.buildJobs ?? Math.max(1, availableParallelism()) });
    this.pushQueue = new PQueue({ concurrency: options.parallel });
    this.activateQueue = new PQueue({ concurrency: options.parallel });
    this.holder = {
      user: options.origin?.user ?? userInfo().username,
      from: options.origin?.from ?? hostname(),
      run: options.origin?.run ?? randomUUID(),
      since: new Date().toISOString(),
    };
  }

  private emit(event: DeployEvent): void {
    this.options.onEvent?.(event);
  }

  private done(summary: NodeSummary): void {
    this.summaries.set(summary.node, summary);
    this.emit({ type: "node-done", ...summary });
  }

  /** A node that failed before it got here (e.g. its evaluation). */
  fail(node: NodeName, step: DeployStep, error: HiveError): void {
    this.done(failedSummary(node, step, error));
  }

  /** Starts a node's way through the phases. */
  add(node: DeployNode): void {
    this.added.add(node.name);
    this.running.push(this.deploy(node));
  }

  /** Nodes the run never got to (an interruption stopped their evaluation): skipped. */
  skipUnstarted(nodes: readonly NodeName[], step: DeployStep): void {
    for (const node of nodes) if (!this.added.has(node) && !this.summaries.has(node)) this.interrupted(node, step);
  }

  /** Ctrl-C: start nothing new; what runs (activations above all) finishes. */
  stop(): void {
    this.stopping = true;
  }

  private build(drv: DrvPath, node: NodeName): Promise<StorePath> {
    let build = this.builds.get(drv);
    const scheduler = this.options.build;
    if (build === undefined && scheduler !== undefined) {
      build = scheduler(node, drv);
      this.builds.set(drv, build);
    } else if (build === undefined) {
      build = this.buildQueue.add(async () => {
        const [out] = await realiseDerivation(drv, {
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          onLog: (line) => this.emit({ type: "log", node, step: "build", line }),
        });
        if (out === undefined) throw new HiveError("HIVE_BUILD_FAILED", `building ${drv} produced no output`);
        return out;
      });
      this.builds.set(drv, build);
    }
    return build;
  }

  private async phase<T>(queue: PQueue, work: () => Promise<T>): Promise<T | undefined> {
    if (this.stopping) return undefined;
    return queue.add(async () => (this.stopping ? undefined : work()));
  }

  private async deploy(node: DeployNode): Promise<void> {
    const traits = GOAL_TRAITS[this.options.goal];
    const nodeOptions: NodeDeployOptions = {
      ...this.options,
      replaceUnknownProfiles: node.deployment.replaceUnknownProfiles,
      onEvent: (e) => this.emit(e),
      exporter: this.exporter,
    };
    const signal = this.options.signal ? { signal: this.options.signal } : {};
    const keys = Object.entries(node.deployment.keys);
    const keysAt = (when: "pre-activation" | "post-activation" | "all") =>
      traits.uploadsKeys && !this.options.noKeys ? keys.filter(([, k]) => when === "all" || k.uploadAt === when) : [];
    let step: DeployStep = "build";
    try {
      let system: StorePath | undefined;
      const onTarget = traits.builds && node.buildOnTarget === true && node.outPath !== undefined;
      if (onTarget) {
        system = node.outPath;
      } else if (traits.builds) {
        if (node.drvPath === undefined) throw new Error(`node ${node.name} has no derivation to build`);
        this.emit({ type: "step", node: node.name, step });
        system = await this.build(node.drvPath, node.name);
        if (this.options.gcRootDir !== undefined)
          await addGcRoot(system, join(this.options.gcRootDir, `node-${node.name}`), signal);
      }
      if (!traits.pushes && !traits.uploadsKeys) {
        this.done({ node: node.name, outcome: "succeeded", ...(system ? { system } : {}) });
        return;
      }
      step = "connect";
      const transport = this.options.transportFor(node);
      if (transport === undefined) {
        this.done({
          node: node.name,
          outcome: "skipped",
          step,
          message: "deployment.targetHost is null: not deployable over SSH (use apply-local on the node)",
        });
        return;
      }
      let lock: HostLock | undefined;
      try {
        const pushed = await this.phase(this.pushQueue, async () => {
          this.emit({ type: "step", node: node.name, step: "connect", detail: transport.description });
          // Nothing on the host changes before its lock is ours; the lock also reads its state.
          lock = await lockHost(transport, node.name, this.holder, { force: this.options.breakLock, ...signal });
          if (lock.tookOver !== undefined)
            this.emit({ type: "warning", node: node.name, message: tookOverMessage(lock.tookOver) });
          const same = system !== undefined && traits.pushes && isUnchanged(lock.state, system, nodeOptions);
          if (traits.pushes && system !== undefined && !same) {
            step = "push";
            if (onTarget && node.drvPath !== undefined) {
              // The derivations go up instead of the system, and the host builds it.
              const drv = parseStorePath(node.drvPath);
              await pushNode(transport, node.name, drv, nodeOptions);
              step = "build";
              await buildOnTarget(transport, node.name, drv, nodeOptions);
            } else {
              await pushNode(transport, node.name, system, nodeOptions);
            }
          }
          step = "keys";
          const early = keysAt(traits.activation === null ? "all" : "pre-activation");
          if (early.length > 0) {
            this.emit({ type: "step", node: node.name, step, detail: early.map(([n]) => n).join(", ") });
            await uploadKeys(transport, node.name, early, this.options.keySources, signal);
          }
          return { same, state: lock.state };
        });
        if (pushed === undefined) return this.interrupted(node.name, step);
        const unchanged = pushed.same;
        if (system !== undefined && traits.activation !== null && !unchanged) {
          step = "activate";
          const activated = await this.phase(this.activateQueue, async () => {
            await activateNode(transport, node.name, system, pushed.state, nodeOptions);
            return true;
          });
          if (activated === undefined) return this.interrupted(node.name, step);
        }
        const reboot = traits.activation === "switch" || traits.activation === "boot" ? this.options.reboot : undefined;
        const rebooting = reboot !== undefined;
        if (reboot !== undefined && system !== undefined) {
          step = "reboot";
          this.emit({ type: "step", node: node.name, step });
          await rebootAndWait(transport, node.name, system, {
            timeoutMs: reboot.timeoutMs,
            ...signal,
            onWaiting: (message) => this.emit({ type: "log", node: node.name, step: "reboot", line: message }),
          });
        }
        // A reboot empties /run, where keys usually live: then every key goes up again.
        const late = traits.activation === null ? [] : keysAt(rebooting ? "all" : "post-activation");
        if (late.length > 0) {
          step = "keys";
          this.emit({ type: "step", node: node.name, step, detail: late.map(([n]) => n).join(", ") });
          await uploadKeys(transport, node.name, late, this.options.keySources, signal);
        }
        this.done({ node: node.name, outcome: unchanged ? "unchanged" : "succeeded", ...(system ? { system } : {}) });
      } finally {
        await lock?.release();
      }
    } catch (error) {
      // Builds stopped by an interruption did not fail: they were not let finish.
      if (this.stopping && step === "build") return this.interrupted(node.name, step);
      this.done(failedSummary(node.name, step, error));
    }
  }

  private interrupted(node: NodeName, step: DeployStep): void {
    this.done({ node, outcome: "skipped", step, message: `interrupted before ${step}` });
  }

  /** Waits for every node added so far, and returns one summary per node. */
  async finish(): Promise<NodeSummary[]> {
    await Promise.all(this.running);
    return [...this.summaries.values()];
  }
}
