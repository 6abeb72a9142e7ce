import { Transform } from "node:stream";
import { HiveError, type StorePath } from "@hive/core";
import { closureOf, type PathInfo } from "@hive/nix";
import type { Host } from "./host.js";
import { sniffCompressible, type Sniffed } from "./adaptive-gzip.js";
import type { SharedExporter } from "./shared-export.js";
import { TargetStore, type TargetState } from "./target-store.js";

export type { TargetState };

export interface CopyOptions {
  gzip: boolean;
  /** Let the target fetch what it can from its own substituters first. */
  substitute: boolean;
  onProgress?: (bytes: number, totalBytes: number) => void;
  /** Shares one export among hosts copying at the same time. */
  exporter: ReturnType<SharedExporter["join"]>;
  /** The root's closure, when the caller has it already. */
  closure?: readonly PathInfo[];
  /** The target's store when the caller holds one open (else the copy opens its own). */
  store?: TargetStore;
}

export interface CopyResult {
  paths: number;
  copied: number;
  bytes: number;
}

/** What the target lacks of a closure (fetching from its own substituters first, if asked) and its free space. */
export async function queryTarget(host: Host, closure: readonly PathInfo[], substitute: boolean): Promise<TargetState> {
  if (closure.length === 0) return { missing: [], freeBytes: undefined };
  return withTargetStore(host, undefined, (store) => store.query(closure, substitute));
}

/** The paths of `closure` the target's store lacks. */
export async function missingOnTarget(host: Host, closure: readonly PathInfo[]): Promise<PathInfo[]> {
  return (await queryTarget(host, closure, false)).missing;
}

/** Runs `use` with `store`, or with a store of its own for the target, ended after (stopped if `use` fails). */
async function withTargetStore<T>(
  host: Host,
  store: TargetStore | undefined,
  use: (store: TargetStore) => Promise<T>,
): Promise<T> {
  if (store !== undefined) return use(store);
  const own = new TargetStore(host);
  try {
    const result = await use(own);
    await own.close();
    return result;
  } catch (error) {
    own.abandon();
    throw error;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Refuses a push that cannot fit, before any byte is sent (a host that cannot say is not refused). */
export function refuseIfFull(host: Host, state: TargetState): void {
  const needed = state.missing.reduce((sum, p) => sum + p.narSize, 0);
  if (state.freeBytes !== undefined && needed > state.freeBytes)
    throw new HiveError(
      "HIVE_NO_SPACE",
      `node ${host.node}: push: the paths to copy need ${mib(needed)}, and ${host.description} has ${mib(state.freeBytes)} free in /nix/store`,
      { hint: "free space on the host (nix-collect-garbage -d removes old generations), then run again" },
    );
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

/**
 * Copies a system's closure to a target: asks once which paths it lacks, optionally lets it
 * substitute them, then streams one `nix-store --export` of the rest, dependencies first, into
 * the target's `nix-store --serve` over the connection, with backpressure end to end and no
 * temporary files.
 */
export async function copyClosure(host: Host, root: StorePath, options: CopyOptions): Promise<CopyResult> {
  const closure = options.closure ?? (await closureOf([root], host.signal ? { signal: host.signal } : {}));
  if (closure.length === 0) return { paths: 0, copied: 0, bytes: 0 };
  return withTargetStore(host, options.store, async (store) => {
    const state = await store.query(closure, options.substitute);
    const { missing } = state;
    if (missing.length === 0) return { paths: closure.length, copied: 0, bytes: 0 };
    refuseIfFull(host, state);
    const sent = await sendPaths(store, missing, options);
    return { paths: closure.length, copied: missing.length, bytes: sent };
  });
}

/**
 * Streams one \`nix-store --export\` of `paths` (the target lacks them; their references it has,
 * or they come first) into the target's store, compressed where that pays. Resolves with the
 * bytes sent (before compression).
 */
export async function sendPaths(
  store: TargetStore,
  paths: readonly PathInfo[],
  options: Omit<CopyOptions, "closure" | "substitute" | "store">,
): Promise<number> {
  const total = paths.reduce((sum, p) => sum + p.narSize, 0);
  const exported = options.exporter.request(paths);
  // Whichever side fails first is the error; the other's later failure is expected, not a crash.
  exported.done.catch(() => undefined);
  let sent = 0;
  const counted = exported.stream.pipe(
    counter((n) => {
      sent += n;
      options.onProgress?.(Math.min(sent, total), total);
    }),
  );
  // Compressed where that pays, unless --no-gzip: not at all when the start of the stream does not
  // shrink (then gzip would cost more on both sides than the link saves), else AdaptiveGzip.
  let sniffed: Sniffed;
  try {
    // An export that fails while the start is read fails the push (its stream would just stop).
    sniffed = options.gzip
      ? await Promise.race([sniffCompressible(counted), exported.done.then(() => new Promise<never>(() => undefined))])
      : { compressible: false, stream: counted };
  } catch (error) {
    exported.stream.destroy();
    counted.destroy();
    throw error;
  }
  const added = store.add(paths, sniffed.stream, exported.order, sniffed.compressible);
  added.catch(() => undefined);
  try {
    await Promise.all([added, exported.done]);
  } catch (error) {
    exported.stream.destroy();
    sniffed.stream.destroy();
    // A copy stopped halfway stops the target's server too: it must not wait for the rest.
    store.abandon();
    throw error;
  }
  return sent;
}
