import type { NodeName, StorePath } from "./ids.js";
import type { HiveErrorCode } from "./errors.js";

export type DeployStep = "evaluate" | "build" | "connect" | "push" | "keys" | "activate" | "rollback" | "reboot";
export type NodeOutcomeKind = "succeeded" | "unchanged" | "failed" | "skipped";

/**
 * How a node ended a run: the one shape of a node's outcome, used by the summary, the `node-done`
 * event and the JSON summary.
 */
export interface NodeResult {
  node: NodeName;
  outcome: NodeOutcomeKind;
  /** The step it failed or was stopped at. */
  step?: DeployStep;
  message?: string;
  code?: HiveErrorCode;
  /** What the operator can do about a failure. */
  hint?: string;
  /** The system it runs (or would run, for build). */
  system?: StorePath;
}

/** What a deploy reports as it goes; renderers turn these into terminal lines or NDJSON. */
export type DeployEvent =
  | { type: "step"; node: NodeName; step: DeployStep; detail?: string }
  | { type: "progress"; node: NodeName; step: DeployStep; bytes: number; totalBytes?: number }
  | { type: "log"; node: NodeName; step: DeployStep; line: string }
  /** Derivations of the node's system built so far, of those it needs built, and what builds now. */
  | { type: "build-progress"; node: NodeName; done: number; total: number; building: string[] }
  | { type: "warning"; node?: NodeName; message: string }
  /** Store bytes a node received in its push: from this machine (before compression), or from a peer (fan-out). */
  | { type: "transfer"; node: NodeName; from: NodeName | "deployer"; bytes: number }
  /** A staged rollout opens its next wave (canaries are wave 1 when there are any). */
  | { type: "wave-start"; wave: number; of: number; nodes: NodeName[] }
  | { type: "wave-done"; wave: number; failed: NodeName[] }
  /** The failure budget is spent: no new activation starts. */
  | { type: "halt"; reason: string }
  | ({ type: "node-done" } & NodeResult);
