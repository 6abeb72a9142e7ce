import { execa, type ExecaError } from "execa";
import { HiveError } from "@hive/core";
import { summarizeNixError } from "./nix-error.js";

/** Settings hive needs from every nix it runs, on top of the user's own configuration. */
export const HIVE_NIX_CONFIG = "experimental-features = nix-command flakes";

/** Options a user passes through to Nix (`--show-trace`, `--impure`, `--nix-option NAME VALUE`). */
export interface NixOptions {
  showTrace?: boolean;
  impure?: boolean;
  options?: readonly (readonly [string, string])[];
}

export function nixOptionArgs(options: NixOptions): string[] {
  return [
    ...(options.showTrace ? ["--show-trace"] : []),
    ...(options.options ?? []).flatMap(([name, value]) => ["--option", name, value]),
  ];
}

export function nixEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const user = env["NIX_CONFIG"];
  return { ...env, NIX_CONFIG: user === undefined || user === "" ? HIVE_NIX_CONFIG : `${user}\n${HIVE_NIX_CONFIG}` };
}

export interface NixRun {
  stdout: string;
  stderr: string;
}

/** Failure of a nix command: `message` is the useful part of Nix's error, `stderr` all of it. */
export class NixCommandError extends HiveError {
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(command: string, stderr: string, exitCode: number | undefined, showTrace: boolean) {
    super(
      "HIVE_NIX_FAILED",
      summarizeNixError(stderr, { showTrace }) || `${command} failed with exit code ${String(exitCode)}`,
    );
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** A Nix program stopped because the run was interrupted: said so, and no more (no argv). */
export function nixInterrupted(program: string, cause?: unknown): HiveError {
  return new HiveError(
    "HIVE_INTERRUPTED",
    `${program} was stopped: the run was interrupted`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Runs a Nix program (nix, nix-store, nix-instantiate, ...) from argv, never through a shell.
 * Libraries call this; nothing else in hive spawns nix.
 */
export async function runNix(
  program: string,
  args: readonly string[],
  options: {
    signal?: AbortSignal;
    input?: string;
    showTrace?: boolean;
    cwd?: string;
    env?: Record<string, string>;
  } = {},
): Promise<NixRun> {
  try {
    const result = await execa(program, args, {
      env: { ...nixEnvironment(), ...options.env },
      extendEnv: false,
      // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
      detached: true,
      stripFinalNewline: false,
      maxBuffer: 1024 * 1024 * 1024,
      ...(options.signal ? { cancelSignal: options.signal } : {}),
      // Nix checks for SIGTERM only now and then while it evaluates: an interrupted run does not wait.
      forceKillAfterDelay: 1000,
      ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" }),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    return { stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    const failure = error as ExecaError;
    if (failure.code === "ENOENT") {
      throw new HiveError("HIVE_NIX_MISSING", `${program} is not installed or not on PATH`, {
        hint: "install Nix (on Debian: apt-get install nix-bin)",
        cause: error,
      });
    }
    // The evaluator's whole expression is in its argv: an interruption says so and no more.
    if (failure.isCanceled) throw nixInterrupted(program, error);
    const stderr = typeof failure.stderr === "string" ? failure.stderr : "";
    throw new NixCommandError(program, stderr, failure.exitCode, options.showTrace ?? false);
  }
}

/**
 * Runs a Nix program whose progress is read as it comes (stderr, e.g. `--log-format
 * internal-json`); resolves with its exit code whatever it is (undefined when it could not start or
 * was stopped by the signal).
 */
export async function streamNix(
  program: string,
  args: readonly string[],
  options: { signal?: AbortSignal; env?: Record<string, string>; onStderr: (chunk: Buffer) => void },
): Promise<{ exitCode: number | undefined; canceled: boolean }> {
  const child = execa(program, args, {
    env: { ...nixEnvironment(), ...options.env },
    extendEnv: false,
    // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
    detached: true,
    reject: false,
    stdin: "ignore",
    forceKillAfterDelay: 1000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  child.stderr.on("data", options.onStderr);
  const result = await child;
  return { exitCode: result.exitCode, canceled: result.isCanceled };
}

/** Runs a Nix program attached to this terminal (for `hive repl`); resolves with its exit code. */
export async function runNixInteractive(program: string, args: readonly string[]): Promise<number> {
  const result = await execa(program, args, {
    env: nixEnvironment(),
    extendEnv: false,
    // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
    detached: true,
    stdio: "inherit",
    reject: false,
  });
  if (result.failed && result.exitCode === undefined) {
    throw new HiveError("HIVE_NIX_MISSING", `${program} could not be started: ${result.message}`, {
      hint: "install Nix (on Debian: apt-get install nix-bin)",
    });
  }
  return result.exitCode ?? 1;
}
