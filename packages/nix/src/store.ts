import type { Readable } from "node:stream";
import { execa } from "execa";
import { HiveError, LineSplitter, parseStorePath, type DrvPath, type StorePath } from "@hive/core";
import { nixEnvironment, nixInterrupted, runNix } from "./nix-command.js";

export type { PathInfo } from "./closure.js";
export { closureOf } from "./closure.js";

/** Builds (or substitutes) a derivation's outputs locally; the log goes to `onLog` line by line. */
export async function realiseDerivation(
  drv: DrvPath,
  options: {
    signal?: AbortSignal;
    onLog?: (line: string) => void;
    nixArgs?: readonly string[];
    /** Added to Nix's environment (e.g. NIX_SSHOPTS for remote builders). */
    env?: Record<string, string>;
  } = {},
): Promise<StorePath[]> {
  const child = execa("nix-store", ["--realise", ...(options.nixArgs ?? []), drv], {
    env: { ...nixEnvironment(), ...options.env },
    extendEnv: false,
    // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
    detached: true,
    reject: false,
    stdin: "ignore",
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const lines = new LineSplitter((line) => options.onLog?.(line), 15);
  child.stderr.on("data", (chunk: Buffer) => lines.push(chunk));
  const result = await child;
  const log = lines.end();
  if (result.isCanceled) throw options.signal?.reason ?? new Error("aborted");
  if (result.exitCode !== 0) {
    throw new HiveError("HIVE_BUILD_FAILED", `building ${drv} failed:\n${log.slice(-15).join("\n")}`, {
      hint: `the full log: nix log ${drv}`,
    });
  }
  return result.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map(parseStorePath);
}

/** A stream of `nix-store --export` for paths (in the order given), and its completion. */
export function exportPaths(
  paths: readonly StorePath[],
  options: { signal?: AbortSignal } = {},
): { stream: Readable; done: Promise<void> } {
  const child = execa("nix-store", ["--export", ...paths], {
    env: nixEnvironment(),
    extendEnv: false,
    // Its own process group: the terminal's Ctrl-C reaches hive alone, and hive stops it.
    detached: true,
    stdin: "ignore",
    // stdout streams to the hosts; stderr is kept to say why an export failed.
    buffer: { stdout: false, stderr: true },
    encoding: "buffer",
    reject: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const done = child.then((result) => {
    if (result.isCanceled) throw nixInterrupted("nix-store --export");
    if (result.exitCode !== 0) {
      const stderr = Buffer.from(result.stderr).toString().trim();
      const cause = stderr || (result.signal ? `killed by ${result.signal}` : `exit code ${String(result.exitCode)}`);
      throw new HiveError("HIVE_NIX_FAILED", `nix-store --export on this machine failed: ${cause}`);
    }
  });
  return { stream: child.stdout, done };
}

/** The paths among `paths` that this machine's store does not have. */
export async function invalidPaths(
  paths: readonly StorePath[],
  options: { signal?: AbortSignal } = {},
): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { stdout } = await runNix("nix-store", ["--check-validity", "--print-invalid", ...paths], options);
  return new Set(stdout.split("\n").filter((l) => l !== ""));
}

/**
 * Copies paths with their closures from this machine's store to another store (`nix copy --to`):
 * a binary cache URL as Nix takes it (`?secret-key=FILE` signs what it uploads). Paths the store
 * has already are skipped by Nix itself.
 */
export async function copyToStore(
  url: string,
  paths: readonly StorePath[],
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  if (paths.length === 0) return;
  await runNix("nix", ["copy", "--to", url, ...paths], options);
}

/** Each path's NAR hash as this machine's store records it (`nix-store --query --hash`), in order. */
export async function narHashes(
  paths: readonly StorePath[],
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  if (paths.length === 0) return [];
  const { stdout } = await runNix("nix-store", ["--query", "--hash", ...paths], options);
  return stdout.split("\n").filter((l) => l !== "");
}

/** Makes `path` a GC root through an indirect root at `link` (a symlink hive owns). */
export async function addGcRoot(path: StorePath, link: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runNix("nix-store", ["--realise", "--add-root", link, "--indirect", path], options);
}
