import {
  HiveError,
  type DeployStep,
  type ExecOptions,
  type ExecResult,
  type NodeName,
  type Transport,
} from "@hive/core";

/** Runs a command on a node and turns a non-zero exit into an error naming node, step and cause. */
export async function runOn(
  transport: Transport,
  node: NodeName,
  step: DeployStep,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const result = await transport.exec(argv, options);
  if (result.exitCode !== 0) {
    const cause =
      result.stderr.trim().split("\n").slice(-12).join("\n") || `exit ${result.exitCode ?? result.signal ?? "?"}`;
    throw new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${node}: ${step}: ${argv[0] ?? "command"} failed on ${transport.description}:\n${cause}`,
    );
  }
  return result;
}
