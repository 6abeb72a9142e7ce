import { spawn } from "node:child_process";
import { feedInput } from "./feed-input.js";
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
    feedInput(options.stdin, stdin, () => child.kill());
  });
}
