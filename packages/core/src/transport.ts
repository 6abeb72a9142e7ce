import type { Readable, Writable } from "node:stream";

/** How to run one command on a host. */
export interface ExecOptions {
  /** Bytes for the command's standard input (a stream is piped with backpressure). */
  stdin?: string | Uint8Array | Readable;
  signal?: AbortSignal;
  /** Called with output as it arrives; output given to a callback is not also collected. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Standard output piped here with backpressure (not ended: the caller ends it once the command succeeded). */
  stdout?: Writable;
  /** Run as root: through the target's privilege escalation command when not logged in as root. */
  privileged?: boolean;
}

export interface ExecResult {
  /** The command's exit code, or null when it died of a signal. */
  exitCode: number | null;
  signal: string | null;
  /** Collected output (empty when a callback took it). */
  stdout: string;
  stderr: string;
}

/**
 * The one seam between hive's pipeline and a host: the local machine and SSH hosts alike. A
 * command is an argv, never a shell string; whoever crosses a shell quotes it with one function.
 */
export interface Transport {
  /** Where commands run, for messages (e.g. "root@web-1:22"). */
  readonly description: string;
  /** How another machine reaches this host with ssh, when it is an SSH host reached directly (no jump host). */
  readonly sshAddress?: { user: string; hostName: string; port: number } | undefined;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
  /**
   * Later commands go over a new connection (proving the host still lets hive in), while commands
   * running now finish on the old one. Without it, `close` does (and stops what runs).
   */
  reconnect?(): Promise<void>;
  /**
   * Starts connecting now, so that the first command need not wait for the handshake (while the
   * node's build is checked). Never throws: a failure is the first command's.
   */
  prepare?(): void;
}
