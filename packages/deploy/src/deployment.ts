import { availableParallelism } from "node:os";
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
  system?: StorePath;
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
  private stopping = false;
  /** Hosts copying at the same time share one export of what they lack. */
  readonly exporter = new SharedExporter();

  constructor(private readonly options: DeploymentOptions) {
    this.buildQueue = new PQueue({ concurrency: options.buildJobs ?? Math.max(1, availableParallelism()) });
    this.pushQueue = new PQueue({ concurrency: options.parallel });
    this.activateQueue = new PQueue({ concurrency: options.parallel });
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
    this.done({ node, outcome: "failed", step, message: error.message, code: error.code });
  }

  /** Starts a node's way through the phases. */
  add(node: DeployNode): void {
    this.running.push(this.deploy(node));
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
      const unchanged = await this.phase(this.pushQueue, async () => {
        this.emit({ type: "step", node: node.name, step: "connect", detail: transport.description });
        let same = false;
        if (traits.pushes && system !== undefined) {
          same = await isUnchanged(transport, system, nodeOptions);
          step = "push";
          if (!same && onTarget && node.drvPath !== undefined) {
            // The derivations go up instead of the system, and the host builds it.
            const drv = parseStorePath(node.drvPath);
            await pushNode(transport, node.name, drv, nodeOptions);
            step = "build";
            await buildOnTarget(transport, node.name, drv, nodeOptions);
          } else if (!same) {
            await pushNode(transport, node.name, system, nodeOptions);
          }
        }
        step = "keys";
        const early = keysAt(traits.activation === null ? "all" : "pre-activation");
        if (early.length > 0) {
          this.emit({ type: "step", node: node.name, step, detail: early.map(([n]) => n).join(", ") });
          await uploadKeys(transport, node.name, early, this.options.keySources, signal);
        }
        return same;
      });
      if (unchanged === undefined) return this.interrupted(node.name, step);
      if (system !== undefined && traits.activation !== null && !unchanged) {
        step = "activate";
        const activated = await this.phase(this.activateQueue, async () => {
          await activateNode(transport, node.name, system, nodeOptions);
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
    } catch (error) {
      if (!isHiveError(error)) throw error;
      this.done({ node: node.name, outcome: "failed", step, message: error.message, code: error.code });
    }
  }

  private interrupted(node: NodeName, step: DeployStep): void {
    this.done({ node, outcome: "skipped", step, message: "interrupted before this step" });
  }

  /** Waits for every node added so far, and returns one summary per node. */
  async finish(): Promise<NodeSummary[]> {
    await Promise.all(this.running);
    return [...this.summaries.values()];
  }
}
