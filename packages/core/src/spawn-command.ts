import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import type { ExecOptions, ExecResult } from "./transport.js";

/**
 * Runs a local process as a Transport runs a command: input from a buffer or a stream (with
 * backpressure; a stream that breaks off kills the process), output collected, streamed to
 * callbacks or piped on, and the exit code or signal it ended with.
 */
export function spawnCommand(
  file: string,
  args: readonly string[],
  spawnOptions: { env?: NodeJS.ProcessEnv; detached?: boolean },
  options: ExecOptions,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...spawnOptions,
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { stdin, stdout: out, stderr: err } = child;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    if (options.stdout !== undefined) out.pipe(options.stdout, { end: false });
    else out.on("data", (c: Buffer) => (options.onStdout ? options.onStdout(c) : stdout.push(c)));
    err.on("data", (c: Buffer) => (options.onStderr ? options.onStderr(c) : stderr.push(c)));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      }),
    );
    // A command that exits without reading all its input is not hive's crash.
    stdin.on("error", () => undefined);
    if (options.stdin === undefined) stdin.end();
    else if (options.stdin instanceof Readable) {
      const input = options.stdin;
      input.pipe(stdin);
      // Input that breaks off (its producer failed) must not leave the command waiting for more.
      input.once("error", () => child.kill());
      input.once("close", () => {
        if (!input.readableEnded) child.kill();
      });
    } else stdin.end(options.stdin);
  });
}
