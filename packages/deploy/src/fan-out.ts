import PQueue from "p-queue";
import { isHiveError, type NodeConfig, type NodeName, type Transport } from "@hive/core";
import type { EvalLimits, Hive } from "@hive/eval";
import { assess, type NodeStatus } from "./drift.js";
import { Host } from "./host.js";
import { probeHost } from "./host-state.js";
import { hiveKnows } from "./node-deploy.js";
import { runHealthChecks } from "./health-checks.js";

/** What every command that fans out over hosts needs: the hive, the nodes, and how to reach them. */
export interface FanOutOptions {
  hive: Hive;
  selected: readonly NodeName[];
  evalLimits: EvalLimits;
  transportFor: (node: NodeConfig) => Transport | undefined;
  /** Hosts at once. */
  parallel: number;
  signal?: AbortSignal;
}

export type ExecOutcome =
  | { node: NodeName; outcome: "exit"; code: number | null; signal: string | null }
  | { node: NodeName; outcome: "skipped" | "failed"; reason: string };

function inOrder<T extends { node: NodeName }>(selected: readonly NodeName[], rows: T[]): T[] {
  const order = new Map(selected.map((n, i) => [n, i]));
  return rows.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
}

/** Runs a command on every selected node, `parallel` at a time; output goes to `onOutput` as it comes. */
export async function execOnNodes(
  options: FanOutOptions & {
    argv: readonly string[];
    onOutput: (node: NodeName, stream: "stdout" | "stderr", chunk: Buffer) => void;
    /** A node's output is complete (flush what is buffered for it). */
    onDone?: (node: NodeName) => void;
  },
): Promise<ExecOutcome[]> {
  const results: ExecOutcome[] = [];
  const queue = new PQueue({ concurrency: options.parallel });
  const signal = options.signal ? { signal: options.signal } : {};
  await options.hive.nodeConfigs(
    options.selected,
    (o) => {
      if (!o.ok) return results.push({ node: o.node, outcome: "failed", reason: o.error.message });
      const transport = options.transportFor(o.value);
      if (transport === undefined)
        return results.push({
          node: o.node,
          outcome: "skipped",
          reason: "deployment.targetHost is null (not reachable over SSH)",
        });
      void queue.add(async () => {
        try {
          const r = await new Host(transport, o.node, options.signal).exec(options.argv, {
            onStdout: (c) => options.onOutput(o.node, "stdout", c),
            onStderr: (c) => options.onOutput(o.node, "stderr", c),
          });
          results.push({ node: o.node, outcome: "exit", code: r.exitCode, signal: r.signal });
        } catch (error) {
          results.push({
            node: o.node,
            outcome: "failed",
            reason: isHiveError(error) ? error.message : `internal error: ${String(error)}`,
          });
        } finally {
          options.onDone?.(o.node);
        }
      });
      return undefined;
    },
    { limits: options.evalLimits, ...signal },
  );
  await queue.onIdle();
  return inOrder(options.selected, results);
}

/**
 * Every selected node's verdict: its desired system is evaluated while its host is probed (one
 * command, `parallel` hosts at a time), then the two are judged together.
 */
export async function fleetStatus(options: FanOutOptions): Promise<NodeStatus[]> {
  const queue = new PQueue({ concurrency: options.parallel });
  const statuses = new Map<NodeName, Promise<NodeStatus>>();
  const failed = (node: NodeName, verdict: "unreachable" | "unknown", reason: string): NodeStatus => ({
    node,
    verdict,
    reason,
  });
  await options.hive.evaluate(
    options.selected,
    (o) => {
      if (!o.ok) return statuses.set(o.node, Promise.resolve(failed(o.node, "unknown", o.error.message)));
      const transport = options.transportFor(o.value);
      if (transport === undefined)
        return statuses.set(o.node, Promise.resolve(failed(o.node, "unknown", "deployment.targetHost is null")));
      const want = o.value.outPath;
      const host = new Host(transport, o.node, options.signal);
      const status = queue
        .add(() => probeHost(host))
        .then(
          async (state) => {
            // Only a profile that is not the desired one needs judging, as apply's unknown-profile check does.
            const installed = state.profile ?? state.current;
            const known = installed === undefined || installed === want || (await hiveKnows(state, installed));
            return assess(o.node, want, state, known);
          },
          (error: unknown) => {
            if (!isHiveError(error)) throw error;
            return failed(o.node, error.code.startsWith("HIVE_SSH_") ? "unreachable" : "unknown", error.message);
          },
        );
      return statuses.set(o.node, status);
    },
    { limits: options.evalLimits, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return Promise.all(
    options.selected.map((n) => statuses.get(n) ?? Promise.resolve(failed(n, "unknown", "not evaluated"))),
  );
}

export type CheckOutcome =
  | { node: NodeName; outcome: "passed"; checks: number }
  | { node: NodeName; outcome: "failed"; check: string; output: string }
  | { node: NodeName; outcome: "skipped"; reason: string };

/** Runs every selected node's health checks against what it runs now (`hive check`). */
export async function checkNodes(options: FanOutOptions): Promise<CheckOutcome[]> {
  const results: CheckOutcome[] = [];
  const queue = new PQueue({ concurrency: options.parallel });
  await options.hive.nodeConfigs(
    options.selected,
    (o) => {
      if (!o.ok)
        return results.push({ node: o.node, outcome: "failed", check: "(evaluation)", output: o.error.message });
      const checks = o.value.deployment.healthChecks ?? [];
      if (checks.length === 0)
        return results.push({ node: o.node, outcome: "skipped", reason: "no deployment.healthChecks" });
      const transport = options.transportFor(o.value);
      if (transport === undefined)
        return results.push({ node: o.node, outcome: "skipped", reason: "deployment.targetHost is null" });
      void queue.add(async () => {
        const failure = await runHealthChecks(new Host(transport, o.node, options.signal), checks);
        results.push(
          failure === undefined
            ? { node: o.node, outcome: "passed", checks: checks.length }
            : { node: o.node, outcome: "failed", check: failure.name, output: failure.output },
        );
      });
      return undefined;
    },
    { limits: options.evalLimits, ...(options.signal ? { signal: options.signal } : {}) },
  );
  await queue.onIdle();
  return inOrder(options.selected, results);
}
