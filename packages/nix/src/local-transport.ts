import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import type { ExecOptions, ExecResult, Transport } from "@hive/core";

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
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        stdio: ["pipe", "pipe", "pipe"],
        // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
        detached: true,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      if (options.stdout !== undefined) child.stdout.pipe(options.stdout, { end: false });
      else child.stdout.on("data", (c: Buffer) => (options.onStdout ? options.onStdout(c) : stdout.push(c)));
      child.stderr.on("data", (c: Buffer) => (options.onStderr ? options.onStderr(c) : stderr.push(c)));
      child.on("error", reject);
      child.on("close", (code, signal) =>
        resolve({
          exitCode: code,
          signal,
          stdout: Buffer.concat(stdout).toString(),
          stderr: Buffer.concat(stderr).toString(),
        }),
      );
      if (options.stdin === undefined) child.stdin.end();
      else if (options.stdin instanceof Readable) {
        const input = options.stdin;
        input.pipe(child.stdin);
        // Input that breaks off (its producer failed) must not leave the command waiting for more.
        input.once("error", () => child.kill());
        input.once("close", () => {
          if (!input.readableEnded) child.kill();
        });
      } else child.stdin.end(options.stdin);
      // A command that exits without reading all its input is not hive's crash.
      child.stdin.on("error", () => undefined);
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
