import { availableParallelism } from "node:os";
import PQueue from "p-queue";
import {
  BuildScheduler,
  closureToBuild,
  placeNode,
  planBuild,
  type BuildCapabilities,
  type Placement,
  type SchedulerOptions,
} from "@hive/build";
import {
  GOAL_TRAITS,
  HiveError,
  type DeployEvent,
  type DeployStep,
  type Goal,
  type NodeName,
  type NodeResult,
} from "@hive/core";
import type { EvalLimits, EvaluatedNode, Hive } from "@hive/eval";
import { Deployment, type DeploymentOptions } from "./deployment.js";
import type { DeployNode } from "./deploy-node.js";
import { planChanges, type NodePlan } from "./plan.js";
import type { RolloutPolicy } from "./rollout.js";

type Sink = (event: DeployEvent) => void;

export interface FleetRunOptions extends Omit<
  DeploymentOptions,
  "goal" | "build" | "keySources" | "onEvent" | "signal" | "rollout"
> {
  hive: Hive;
  selected: readonly NodeName[];
  evalLimits: EvalLimits;
  /** How builds run: the scheduler's settings, what can build where, and --build-on-target. */
  build: {
    scheduler: Omit<SchedulerOptions, "signal" | "onProgress" | "onLog">;
    capabilities: BuildCapabilities;
    /** --build-on-target / --no-build-on-target; undefined: each node's deployment.buildOnTarget. */
    onTarget: boolean | undefined;
  };
  /** Staged activations: canaries, waves, a failure budget (goals that activate). */
  rolloutPolicy?: RolloutPolicy;
  /** Aborted at the first interruption: evaluation and builds stop, nothing new starts. */
  starting: AbortSignal;
  /** Aborted at the second: what runs stops too (activations restore the previous system). */
  aborting: AbortSignal;
}

/** Where each node would be built in a dry run, and what that takes. */
export interface DryRunRow {
  node: NodeName;
  system: string;
  placement: Placement;
  /** Derivations to build and paths to fetch (here or on builders; unknown when built on the target). */
  toBuild?: number;
  toFetch?: number;
}

interface Evaluated {
  nodes: Map<NodeName, DeployNode>;
  failures: { node: NodeName; step: DeployStep; error: HiveError }[];
}

/**
 * One run of hive over the selected nodes: evaluate, place, build, push, activate. Its stages
 * compose: `apply` is all of them; `build` then `deployBuilt` is a deploy that shows its plan
 * (`planBuilt`) between the two; `dryRun` places and sizes the builds and stops. Every stage
 * returns one NodeResult per node and reports as it goes through the sink it is given.
 */
export class FleetRun {
  private sink: Sink = () => undefined;
  private current: Deployment | undefined;
  private readonly scheduler: BuildScheduler;
  private readonly keyTexts = new Map<NodeName, Promise<Map<string, string>>>();

  constructor(private readonly options: FleetRunOptions) {
    this.scheduler = new BuildScheduler({
      ...options.build.scheduler,
      signal: options.starting,
      onProgress: (p) => this.sink({ type: "build-progress", ...p }),
      onLog: (node, line) => this.sink({ type: "log", node, step: "build", line }),
    });
  }

  /** The first interruption: start nothing new. */
  stop(): void {
    this.current?.stop();
  }

  /** The whole way for `goal`: each node moves on as soon as it is evaluated, built and pushed. */
  async apply(goal: Goal, sink: Sink): Promise<NodeResult[]> {
    return this.stage(goal, sink, async (d) => {
      await this.evaluate(goal, {
        add: (n) => d.add(n),
        fail: (n, step, e) => d.fail(n, step, e),
      });
    });
  }

  /** Evaluates and builds every node (for a plan before deploying); `deployBuilt` goes on from there. */
  async build(goal: Goal, sink: Sink): Promise<{ results: NodeResult[]; evaluated: Evaluated }> {
    const evaluated: Evaluated = { nodes: new Map(), failures: [] };
    const results = await this.stage("build", sink, async (d) => {
      await this.evaluate(goal, {
        add: (n) => {
          evaluated.nodes.set(n.name, n);
          d.add(n);
        },
        fail: (n, step, e) => {
          evaluated.failures.push({ node: n, step, error: e });
          d.fail(n, step, e);
        },
      });
    });
    return { results, evaluated };
  }

  /** Deploys what `build` built (builds are done by then); its failures fail here as they did there. */
  deployBuilt(
    goal: Goal,
    built: { results: readonly NodeResult[]; evaluated: Evaluated },
    sink: Sink,
  ): Promise<NodeResult[]> {
    return this.stage(goal, sink, (d) => {
      for (const { node, step, error } of built.evaluated.failures) d.fail(node, step, error);
      for (const result of built.results) {
        const node = built.evaluated.nodes.get(result.node);
        if (result.outcome === "failed" && !built.evaluated.failures.some((f) => f.node === result.node))
          d.fail(
            result.node,
            result.step ?? "build",
            new HiveError(result.code ?? "HIVE_BUILD_FAILED", result.message ?? "failed"),
          );
        else if (node !== undefined && result.outcome !== "failed") d.add(node);
      }
    });
  }

  /** What deploying the built nodes would change on each host (`hive diff`, `--confirm`). */
  planBuilt(built: { results: readonly NodeResult[]; evaluated: Evaluated }): Promise<NodePlan[]> {
    return planChanges(
      built.results.flatMap((r) => {
        const node = built.evaluated.nodes.get(r.node);
        const transport = node && this.options.transportFor(node);
        return r.outcome === "succeeded" && r.system && transport
          ? [{ node: r.node, system: r.system, transport }]
          : [];
      }),
      this.options.parallel,
    );
  }

  /** Where each node would be built and what that takes; nothing is built or pushed. */
  async dryRun(goal: Goal): Promise<{ rows: DryRunRow[]; failures: HiveError[] }> {
    const evaluated: EvaluatedNode[] = [];
    const failures: HiveError[] = [];
    await this.options.hive.evaluate(
      this.options.selected,
      (o) => (o.ok ? evaluated.push(o.value) : failures.push(o.error)),
      this.evalOptions(),
    );
    // One dry run per node (to count its own builds and fetches), a few at a time.
    const queue = new PQueue({ concurrency: Math.max(1, availableParallelism()) });
    const order = new Map(this.options.selected.map((n, i) => [n, i]));
    evaluated.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    const rows = await Promise.all(
      evaluated.map((node) =>
        queue.add(async (): Promise<DryRunRow> => {
          const placement = this.place(node, goal);
          const row = { node: node.name, system: node.buildSystem, placement };
          if (placement.kind === "nowhere" || placement.kind === "target") return row;
          const plan = await planBuild([node.drvPath], { substitute: this.options.substitute });
          return { ...row, toBuild: closureToBuild(plan.toBuild, node.drvPath).length, toFetch: plan.toFetch };
        }),
      ),
    );
    return { rows, failures };
  }

  private place(node: EvaluatedNode, goal: Goal): Placement {
    const onTarget = GOAL_TRAITS[goal].pushes && (this.options.build.onTarget ?? node.deployment.buildOnTarget);
    return placeNode(node.buildSystem, onTarget, this.options.build.capabilities);
  }

  private evalOptions() {
    return { limits: this.options.evalLimits, signal: this.options.starting };
  }

  /** Evaluates the selected nodes and hands each on as it arrives, placed (or failed). */
  private async evaluate(
    goal: Goal,
    into: { add: (n: DeployNode) => void; fail: (n: NodeName, step: DeployStep, e: HiveError) => void },
  ): Promise<void> {
    if (!GOAL_TRAITS[goal].builds) {
      await this.options.hive.nodeConfigs(
        this.options.selected,
        (o) => (o.ok ? into.add({ kind: "config", ...o.value }) : into.fail(o.node, "evaluate", o.error)),
        this.evalOptions(),
      );
      return;
    }
    await this.options.hive.evaluate(
      this.options.selected,
      (o) => {
        if (!o.ok) return into.fail(o.node, "evaluate", o.error);
        const { name, deployment, drvPath, outPath } = o.value;
        if (this.options.buildHost !== undefined)
          return into.add({ kind: "build-host", name, deployment, drvPath, outPath });
        // Where it is built is decided before anything runs; a node nothing can build fails now.
        const placement = this.place(o.value, goal);
        if (placement.kind === "nowhere")
          return into.fail(
            o.node,
            "build",
            new HiveError("HIVE_BUILD_FAILED", `node ${o.node}: build: nothing can build it: ${placement.reason}`, {
              hint: placement.hint,
            }),
          );
        into.add({ kind: placement.kind === "target" ? "target" : "built", name, deployment, drvPath, outPath });
      },
      this.evalOptions(),
    );
  }

  private async stage(goal: Goal, sink: Sink, feed: (d: Deployment) => Promise<void> | void): Promise<NodeResult[]> {
    this.sink = sink;
    const deployment = new Deployment({
      ...this.options,
      goal,
      build: (node, drv, outPath) => this.scheduler.build(node, drv, outPath),
      keySources: { text: (node, key) => this.keyText(node, key) },
      signal: this.options.aborting,
      onEvent: sink,
      ...(this.options.rolloutPolicy !== undefined && GOAL_TRAITS[goal].activation !== null
        ? { rollout: { nodes: this.options.selected, policy: this.options.rolloutPolicy } }
        : {}),
    });
    this.current = deployment;
    if (this.options.starting.aborted) deployment.stop();
    try {
      await feed(deployment);
    } catch (error) {
      // Evaluation stopped by an interruption: the nodes it did not reach are skipped.
      if (!this.options.starting.aborted) throw error;
      deployment.skipUnstarted(this.options.selected, "evaluate");
    }
    this.scheduler.allArrived();
    deployment.sealed(this.options.selected);
    const results = await deployment.finish();
    const order = new Map(this.options.selected.map((n, i) => [n, i]));
    return results.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  }

  /** A text key's content, evaluated once per node and only when a key goes up. */
  private async keyText(node: NodeName, key: string): Promise<string> {
    let texts = this.keyTexts.get(node);
    if (texts === undefined) {
      texts = this.options.hive.keyTexts(node, { signal: this.options.aborting });
      this.keyTexts.set(node, texts);
    }
    const text = (await texts).get(key);
    if (text === undefined) throw new HiveError("HIVE_KEY_FAILED", `node ${node}: keys: key ${key} has no text`);
    return text;
  }
}
