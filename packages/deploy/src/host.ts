import {
  HiveError,
  type DeployStep,
  type ExecOptions,
  type ExecResult,
  type NodeName,
  type Transport,
} from "@hive/core";

/** A step's command options; the host's own signal applies unless the step says otherwise. */
export type HostExecOptions = Omit<ExecOptions, "signal"> & {
  /** `null`: a command that must run even when the run is aborted (stopping an activation). */
  signal?: AbortSignal | null;
  /** The command as messages name it, when its argv[0] does not (a script run by sh). */
  label?: string;
  /**
   * The command only waits on the host for something that runs on its own (an activation): killed
   * by a signal (the host going down), it is lost as a dropped connection is, and the caller follows
   * up over a new one.
   */
  waits?: boolean;
};

/**
 * A node's host as the pipeline sees it: its transport, its name and the run's signal, with the
 * verbs every remote step uses and one policy for exit codes and errors: `run` fails with a
 * HiveError naming the node, the step and the cause; `exec` returns the result as it is.
 */
export class Host {
  constructor(
    readonly transport: Transport,
    readonly node: NodeName,
    readonly signal?: AbortSignal,
  ) {}

  get description(): string {
    return this.transport.description;
  }

  exec(argv: readonly string[], options: HostExecOptions = {}): Promise<ExecResult> {
    const { signal, ...rest } = options;
    const effective = signal === null ? undefined : (signal ?? this.signal);
    return this.transport.exec(argv, { ...rest, ...(effective ? { signal: effective } : {}) });
  }

  /** Runs a command; a non-zero exit is an error naming the node, the step and the command's last output. */
  async run(step: DeployStep, argv: readonly string[], options: HostExecOptions = {}): Promise<ExecResult> {
    const { label, waits, ...execOptions } = options;
    const result = await this.exec(argv, execOptions);
    if (waits === true && result.signal !== null)
      throw new HiveError(
        "HIVE_SSH_DISCONNECTED",
        `${this.description}: ${label ?? argv[0] ?? "a command"} was killed by ${result.signal} while it waited on the host`,
      );
    if (result.exitCode !== 0) {
      const cause =
        result.stderr.trim().split("\n").slice(-12).join("\n") ||
        (result.signal !== null ? `killed by ${result.signal}` : `exit ${result.exitCode ?? "?"}`);
      throw new HiveError(
        "HIVE_REMOTE_COMMAND_FAILED",
        `node ${this.node}: ${step}: ${label ?? argv[0] ?? "command"} failed on ${this.description}:\n${cause}`,
      );
    }
    return result;
  }

  /**
   * The next command opens a new connection (to prove the host still lets hive in); commands
   * running on the old one (a copy to a peer) finish there.
   */
  reconnect(): Promise<void> {
    return this.transport.reconnect ? this.transport.reconnect() : this.transport.close();
  }

  /** Where a symlink leads (every link followed), or undefined if it or its target is absent. */
  async readLink(path: string): Promise<string | undefined> {
    const result = await this.exec(["readlink", "-e", path]);
    const target = result.stdout.trim();
    return result.exitCode === 0 && target !== "" ? target : undefined;
  }
}
