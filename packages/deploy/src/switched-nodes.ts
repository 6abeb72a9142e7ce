import type PQueue from "p-queue";
import { HiveError, type DeployEvent, type NodeName, type NodeResult } from "@hive/core";
import type { ActivationPlan } from "./activator.js";
import { failedResult } from "./failed-result.js";
import { runHealthChecks } from "./health-checks.js";
import type { HostLock } from "./host-lock.js";
import type { Host } from "./host.js";
import { rollBackNode, type NodeDeployOptions } from "./node-deploy.js";

interface Switched {
  host: Host;
  plan: ActivationPlan;
  options: NodeDeployOptions;
}

/**
 * The nodes a run has switched, with what their activation replaced: a soak runs their health
 * checks again, a halted rollout (--rollback-on-halt) puts each back.
 */
export class SwitchedNodes {
  private readonly nodes = new Map<NodeName, Switched>();

  constructor(
    private readonly run: {
      emit: (event: DeployEvent) => void;
      done: (result: NodeResult) => void;
      lock: (host: Host) => Promise<HostLock>;
    },
  ) {}

  add(node: NodeName, switched: Switched): void {
    this.nodes.set(node, switched);
  }

  /** The soak between waves: every node switched so far runs its health checks again. */
  async soak(): Promise<NodeName[]> {
    const failing: NodeName[] = [];
    await Promise.all(
      [...this.nodes].map(async ([node, { host, options }]) => {
        if (options.healthChecks.length === 0) return;
        const failure = await runHealthChecks(host, options.healthChecks, (line) =>
          this.run.emit({ type: "log", node, step: "activate", line: `soak: ${line}` }),
        );
        if (failure === undefined) return;
        failing.push(node);
        this.run.done(
          failedResult(
            node,
            "activate",
            new HiveError(
              "HIVE_ACTIVATION_FAILED",
              `node ${node}: activate: switched, but health check ${failure.name} failed during the soak (${failure.output.replace(/\n/g, " ")})`,
              { hint: "--rollback-on-halt rolls back what a halted rollout switched" },
            ),
          ),
        );
      }),
    );
    return failing;
  }

  /** Every node goes back to what it ran, under its lock again, as many at once as `queue` lets. */
  async rollBack(why: string, queue: PQueue): Promise<void> {
    await Promise.all(
      [...this.nodes].map(([node, { host, plan, options }]) =>
        queue.add(async () => {
          let lock: HostLock | undefined;
          try {
            lock = await this.run.lock(host);
            this.run.done(failedResult(node, "rollback", await rollBackNode(host, plan, why, options)));
          } catch (error) {
            this.run.done(failedResult(node, "rollback", error));
          } finally {
            await lock?.release();
          }
        }),
      ),
    );
  }
}
