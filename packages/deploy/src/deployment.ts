import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import PQueue from "p-queue";
import {
  GOAL_TRAITS,
  parseStorePath,
  type DeployEvent,
  type DeployStep,
  type DrvPath,
  type Goal,
  type NodeConfig,
  type NodeName,
  type NodeResult,
  type StorePath,
  type Transport,
} from "@hive/core";
import { closureOf, type PathInfo } from "@hive/nix";
import {
  activateNode,
  buildOnTarget,
  isUnchanged,
  pushNode,
  refuseUnknownProfile,
  type NodeDeployOptions,
} from "./node-deploy.js";
import { SwitchedNodes } from "./switched-nodes.js";
import { failedResult } from "./failed-result.js";
import { uploadKeys, type KeySources } from "./keys.js";
import { rebootAndWait } from "./reboot.js";
import { runHealthChecks } from "./health-checks.js";
import { SharedExporter } from "./shared-export.js";
import { describeHolder, lockHost, type HostLock, type LockHolder } from "./host-lock.js";
import { Host } from "./host.js";
import type { HostState } from "./host-state.js";
import { buildOnBuildHost, copyFromBuildHost } from "./build-host.js";
import type { DeployNode } from "./deploy-node.js";
import { Rollout, type RolloutPolicy } from "./rollout.js";
import { PeerBroker } from "./peer-broker.js";
import { CacheRelay, type CacheSettings } from "./cache-relay.js";

export interface DeploymentOptions extends Omit<
  NodeDeployOptions,
  | "replaceUnknownProfiles"
  | "magicRollback"
  | "healthChecks"
  | "checkFailedUnits"
  | "rebootAfter"
  | "onEvent"
  | "exporter"
  | "peers"
  | "cache"
> {
  goal: Goal;
  /** Nodes pushed or activated at once (each phase has its own limit). */
  parallel: number;
  /** Builds a node's system here or on remote builders (the build scheduler). */
  build: (node: NodeName, drv: DrvPath, outPath?: StorePath) => Promise<StorePath>;
  /** How to reach a node; undefined when it cannot be reached (targetHost null). */
  transportFor: (node: NodeConfig) => Transport | undefined;
  /** `--build-host`: the machine that builds nodes of kind "build-host" and sends their systems on. */
  buildHost?: Transport;
  /** Reboot after activating (goals switch and boot), wait for the new boot and check it. */
  reboot?: { timeoutMs: number };
  /** Skip deployment.keys (--no-keys). */
  noKeys: boolean;
  keySources: KeySources;
  /** Aborts what runs (a second Ctrl-C): activations stop and restore the previous system. */
  signal?: AbortSignal;
  /** Staged activations over these nodes (in this order): canaries, waves, a failure budget. */
  rollout?: { nodes: readonly NodeName[]; policy: RolloutPolicy };
  /** When a rollout halts, roll back every node this run switched (--rollback-on-halt). */
  rollbackOnHalt?: boolean;
  /**
   * Fan-out (--fan-out auto): nodes with deployment.fanOut copy what they share from each other;
   * a peer copy with no progress for `stallMs` falls back to a direct push.
   */
  fanOut?: { stallMs: number };
  /** --via-cache: built systems go up to the operator's binary cache once, and hosts that trust it substitute them. */
  viaCache?: CacheSettings;
  onEvent?: (event: DeployEvent) => void;
}

/**
 * Hosts connected to (locked, their state read) at once, at least: an SSH handshake and one
 * command each, cheap beside a push, so a fleet that is mostly up to date is checked in one go.
 */
const CONNECTS_AT_ONCE = 50;

function tookOverMessage(tookOver: { holder: LockHolder | undefined; alive: boolean }): string {
  return tookOver.alive
    ? `--break-lock: took the host's deploy lock from ${describeHolder(tookOver.holder)}, which still runs`
    : `took over the host's deploy lock left by ${describeHolder(tookOver.holder)}, which is gone`;
}

/**
 * The per-node pipeline across many nodes: each goes build -> push -> activate as soon as it is
 * ready, through one queue per phase with its own limit (a node waiting for a build holds no push
 * slot, a build on the target holds none either). One node's failure never stops the others.
 */
export class Deployment {
  private readonly builds = new Map<DrvPath, Promise<StorePath>>();
  private readonly connectQueue: PQueue;
  private readonly pushQueue: PQueue;
  private readonly activateQueue: PQueue;
  private readonly running: Promise<void>[] = [];
  private readonly results = new Map<NodeName, NodeResult>();
  private readonly added = new Set<NodeName>();
  private stopping = false;
  /** Connections opened ahead of their node's build (warmUp). */
  private warming = 0;
  /** Hosts copying at the same time share one export of what they lack. */
  readonly exporter = new SharedExporter();
  /** Who this run is, in the deploy lock of every host it changes. */
  private readonly holder: LockHolder;
  private readonly rollout: Rollout | undefined;
  /** What each node's activation replaced: checked again at a soak, undone if the rollout halts. */
  private readonly switched: SwitchedNodes;
  /** Fan-out: who holds what, and who copies from whom. */
  private readonly peers: PeerBroker | undefined;
  private readonly cache: CacheRelay | undefined;

  constructor(private readonly options: DeploymentOptions) {
    this.switched = new SwitchedNodes({
      emit: (e) => this.emit(e),
      done: (r) => this.done(r),
      lock: (host) => lockHost(host, this.holder, { force: options.breakLock }),
    });
    this.rollout =
      options.rollout === undefined
        ? undefined
        : new Rollout(
            options.rollout.nodes,
            options.rollout.policy,
            (e) => this.emit(e),
            () => this.switched.soak(),
          );
    this.peers =
      options.fanOut === undefined
        ? undefined
        : new PeerBroker({ stallMs: options.fanOut.stallMs, onEvent: (e) => this.emit(e) });
    this.cache = options.viaCache === undefined ? undefined : new CacheRelay(options.viaCache, (e) => this.emit(e));
    this.connectQueue = new PQueue({ concurrency: Math.max(options.parallel, CONNECTS_AT_ONCE) });
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

  private done(result: NodeResult): void {
    this.results.set(result.node, result);
    this.emit({ type: "node-done", ...result });
    this.rollout?.end(result.node, result.outcome === "failed");
  }

  /** A node that failed before it got here (e.g. its evaluation). */
  fail(node: NodeName, step: DeployStep, error: unknown): void {
    this.done(failedResult(node, step, error));
  }

  /** Starts a node's way through the phases. */
  add(node: DeployNode): void {
    this.added.add(node.name);
    this.running.push(this.deploy(node));
  }

  /** Nodes the run never got to (an interruption stopped their evaluation): skipped. */
  skipUnstarted(nodes: readonly NodeName[], step: DeployStep): void {
    for (const node of nodes) if (!this.added.has(node) && !this.results.has(node)) this.interrupted(node, step);
  }

  /** Every node has been handed over: those that never were hold no wave back. */
  sealed(nodes: readonly NodeName[]): void {
    this.rollout?.forget(nodes.filter((n) => !this.added.has(n) && !this.results.has(n)));
  }

  /** Ctrl-C: start nothing new; what runs (activations above all) finishes. */
  stop(): void {
    this.stopping = true;
  }

  private build(drv: DrvPath, node: NodeName, outPath: StorePath): Promise<StorePath> {
    let build = this.builds.get(drv);
    if (build === undefined) {
      build = this.options.build(node, drv, outPath);
      this.builds.set(drv, build);
    }
    return build;
  }

  /**
   * Opens the node's SSH connection while its build is checked (or runs), so that a system built
   * already goes up without waiting for the handshake; as many hosts ahead as connect at once, at
   * most. Returns what ends the wait.
   */
  private warmUp(node: DeployNode): (() => void) | undefined {
    if (this.warming >= CONNECTS_AT_ONCE) return undefined;
    const transport = this.options.transportFor(node);
    if (transport?.prepare === undefined) return undefined;
    this.warming++;
    transport.prepare();
    let ended = false;
    return () => {
      if (!ended) this.warming--;
      ended = true;
    };
  }

  private closureAhead(system: StorePath): Promise<PathInfo[]> {
    const closure = closureOf([system], this.options.signal ? { signal: this.options.signal } : {});
    // Not needed after all when the host runs the system already.
    closure.catch(() => undefined);
    return closure;
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
      magicRollback: node.deployment.magicRollback ?? true,
      healthChecks: node.deployment.healthChecks ?? [],
      checkFailedUnits: node.deployment.checkFailedUnits !== false,
      rebootAfter: this.options.reboot !== undefined,
      onEvent: (e) => this.emit(e),
      exporter: this.exporter,
      // Fan-out carries built systems; derivations for a build on the target go direct.
      ...(this.peers !== undefined && node.kind === "built" && node.deployment.fanOut != null
        ? { peers: { broker: this.peers, spec: node.deployment.fanOut } }
        : {}),
      ...(this.cache !== undefined && node.kind === "built" ? { cache: this.cache } : {}),
    };
    const keys = Object.entries(node.deployment.keys);
    const keysAt = (when: "pre-activation" | "post-activation" | "all") =>
      traits.uploadsKeys && !this.options.noKeys ? keys.filter(([, k]) => when === "all" || k.uploadAt === when) : [];
    let step: DeployStep = "build";
    try {
      let system: StorePath | undefined;
      let buildHost: Host | undefined;
      if (node.kind === "target") system = node.outPath;
      else if (node.kind === "build-host") {
        if (this.options.buildHost === undefined) throw new Error("a build-host node needs options.buildHost");
        buildHost = new Host(this.options.buildHost, node.name, this.options.signal);
        const on = buildHost;
        // Nodes with the same system build it once.
        let build = this.builds.get(node.drvPath);
        if (build === undefined) {
          build = buildOnBuildHost(on, parseStorePath(node.drvPath), nodeOptions).then(() => node.outPath);
          this.builds.set(node.drvPath, build);
        }
        system = await build;
      } else if (node.kind === "built") {
        this.emit({ type: "step", node: node.name, step });
        const warm = traits.pushes || traits.uploadsKeys ? this.warmUp(node) : undefined;
        try {
          system = await this.build(node.drvPath, node.name, node.outPath);
        } finally {
          warm?.();
        }
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
      const host = new Host(transport, node.name, this.options.signal);
      let lock: HostLock | undefined;
      let closure: Promise<PathInfo[]> | undefined;
      // Set while the host may push next: the shared export waits a little for it.
      let expected: (() => void) | undefined;
      try {
        // Connecting (the lock, and the host's state with it) is its own phase: a host with nothing
        // to push never waits for a push slot.
        const locked = await this.phase(this.connectQueue, async () => {
          this.emit({ type: "step", node: node.name, step: "connect", detail: transport.description });
          // What a push needs first, asked of this machine's store while the host answers.
          if (traits.pushes && system !== undefined && node.kind === "built") {
            closure = this.closureAhead(system);
            expected = this.exporter.expect();
          }
          // Nothing on the host changes before its lock is ours; the lock also reads its state.
          const taken = await lockHost(host, this.holder, { force: this.options.breakLock });
          lock = taken;
          if (taken.tookOver !== undefined)
            this.emit({ type: "warning", node: node.name, message: tookOverMessage(taken.tookOver) });
          return taken;
        });
        if (locked === undefined) return this.interrupted(node.name, step);
        const same = system !== undefined && traits.pushes && isUnchanged(locked.state, system, nodeOptions);
        let pushed: { same: boolean; state: HostState } | undefined = { same, state: locked.state };
        // A host that waits for a push slot will not be in the export about to start.
        const slotFree = this.pushQueue.pending < this.pushQueue.concurrency && this.pushQueue.size === 0;
        if (same || !slotFree) expected?.();
        if (traits.pushes && system !== undefined && !same) {
          step = "push";
          pushed = await this.phase(this.pushQueue, async () => {
            step = "activate";
            await refuseUnknownProfile(host, locked.state, nodeOptions);
            step = "push";
            if (buildHost !== undefined) {
              this.emit({ type: "step", node: node.name, step, detail: `from ${buildHost.description}` });
              await copyFromBuildHost(buildHost, host, system, nodeOptions);
            }
            // Built on the target: the derivations go up instead of the system.
            else if (node.kind === "target") await pushNode(host, parseStorePath(node.drvPath), nodeOptions);
            else await pushNode(host, system, nodeOptions, closure, expected);
            return { same, state: locked.state };
          });
        }
        if (pushed === undefined) return this.interrupted(node.name, step);
        if (node.kind === "target" && traits.pushes && !pushed.same) {
          step = "build";
          await buildOnTarget(host, parseStorePath(node.drvPath), nodeOptions);
        }
        // A staged rollout lets the node change its host only when its wave is open.
        if (this.rollout !== undefined && traits.activation !== null && !pushed.same) {
          step = "activate";
          if (!(await this.rollout.turn(node.name))) {
            this.done({
              node: node.name,
              outcome: "skipped",
              step,
              message: `not started: the rollout halted (${this.rollout.halted ?? "?"})`,
            });
            return;
          }
        }
        const early = keysAt(traits.activation === null ? "all" : "pre-activation");
        if (early.length > 0) {
          step = "keys";
          this.emit({ type: "step", node: node.name, step, detail: early.map(([n]) => n).join(", ") });
          await uploadKeys(host, early, this.options.keySources);
        }
        let watchBase: string | undefined;
        if (system !== undefined && traits.activation !== null && !pushed.same) {
          step = "activate";
          const activated = await this.phase(this.activateQueue, async () => {
            const plan = await activateNode(host, system, pushed.state, nodeOptions);
            if (plan !== undefined) this.switched.add(node.name, { host, plan, options: nodeOptions });
            watchBase = plan?.watchBase;
            return true;
          });
          if (activated === undefined) return this.interrupted(node.name, step);
        }
        const reboot = traits.activation === "switch" || traits.activation === "boot" ? this.options.reboot : undefined;
        if (reboot !== undefined && system !== undefined) {
          step = "reboot";
          this.emit({ type: "step", node: node.name, step });
          const log = (line: string) => this.emit({ type: "log", node: node.name, step: "reboot", line });
          await rebootAndWait(host, system, {
            timeoutMs: reboot.timeoutMs,
            onWaiting: log,
            ...(watchBase !== undefined
              ? {
                  watch: {
                    base: watchBase,
                    confirmSeconds: Math.ceil(nodeOptions.confirmTimeoutMs / 1000),
                    check: () => runHealthChecks(host, nodeOptions.healthChecks, log),
                    onLog: log,
                  },
                }
              : {}),
          });
        }
        // A reboot empties /run, where keys usually live: then every key goes up again.
        const late = traits.activation === null ? [] : keysAt(reboot !== undefined ? "all" : "post-activation");
        if (late.length > 0) {
          step = "keys";
          this.emit({ type: "step", node: node.name, step, detail: late.map(([n]) => n).join(", ") });
          await uploadKeys(host, late, this.options.keySources);
        }
        this.done({ node: node.name, outcome: pushed.same ? "unchanged" : "succeeded", ...(system ? { system } : {}) });
      } finally {
        expected?.();
        await lock?.release();
      }
    } catch (error) {
      // Builds stopped by an interruption did not fail: they were not let finish.
      if (this.stopping && step === "build") return this.interrupted(node.name, step);
      this.done(failedResult(node.name, step, error));
    }
  }

  private interrupted(node: NodeName, step: DeployStep): void {
    this.done({ node, outcome: "skipped", step, message: `interrupted before ${step}` });
  }

  /** Waits for every node added so far, and returns one result per node. */
  async finish(): Promise<NodeResult[]> {
    await Promise.all(this.running);
    await this.peers?.close();
    const halted = this.rollout?.halted;
    if (halted !== undefined && this.options.rollbackOnHalt === true)
      await this.switched.rollBack(`the rollout halted (${halted})`, this.activateQueue);
    return [...this.results.values()];
  }
}
