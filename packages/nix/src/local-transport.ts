import { spawnCommand, type ExecOptions, type ExecResult, type Transport } from "@hive/core";

/**
 * The machine hive runs on, behind the same Transport as an SSH host, so activation and key
 * upload are written once. Privileged commands go through `privilegeEscalation` unless hive
 * already runs as root.
 */
export class LocalTransport implements Transport {
  readonly description = "this machine";

  constructor(private readonly privilegeEscalation: readonly string[] = []) {}

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const escalate = options.privileged === true && process.getuid?.() !== 0;
    const full = escalate ? [...this.privilegeEscalation, ...argv] : [...argv];
    const [file, ...args] = full;
    if (file === undefined) return Promise.reject(new Error("LocalTransport: empty argv"));
    // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
    return spawnCommand(file, args, { detached: true }, options);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
