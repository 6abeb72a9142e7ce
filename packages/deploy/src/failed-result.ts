import { isHiveError, type DeployStep, type NodeName, type NodeResult } from "@hive/core";

/** A node's failure as its result: the error's message, code and hint; an interruption skips it. */
export function failedResult(node: NodeName, step: DeployStep, error: unknown): NodeResult {
  if (isHiveError(error) && error.code === "HIVE_INTERRUPTED")
    return { node, outcome: "skipped", step, message: `interrupted before ${step}` };
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
