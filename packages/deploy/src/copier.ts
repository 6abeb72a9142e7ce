import { PassThrough, Transform } from "node:stream";
import { HiveError, type StorePath } from "@hive/core";
import { closureOf, type PathInfo } from "@hive/nix";
import type { Host } from "./host.js";
import { AdaptiveGzip, sniffCompressible, type Sniffed } from "./adaptive-gzip.js";
import type { SharedExporter } from "./shared-export.js";

export interface CopyOptions {
  gzip: boolean;
  /** Let the target fetch what it can from its own substituters first. */
  substitute: boolean;
  onProgress?: (bytes: number, totalBytes: number) => void;
  /** Shares one export among hosts copying at the same time. */
  exporter: ReturnType<SharedExporter["join"]>;
  /** The root's closure, when the caller has it already. */
  closure?: readonly PathInfo[];
}

export interface CopyResult {
  paths: number;
  copied: number;
  bytes: number;
}

/**
 * One round trip to the target: which of the paths on stdin its store lacks, after it fetched
 * what it could from its own substituters ($1 = 1), and how many bytes are free in /nix/store.
 * Paths come on stdin (xargs splits them), so a closure of any size is one command.
 */
const TARGET_QUERY = `
invalid=$(xargs -r nix-store --check-validity --print-invalid) || exit 3
if [ -n "$invalid" ] && [ "$1" = 1 ]; then
  printf '%s\\n' "$invalid" | xargs -r nix-store --realise > /dev/null 2>&1 || true
  invalid=$(printf '%s\\n' "$invalid" | xargs -r nix-store --check-validity --print-invalid) || exit 3
fi
printf 'free=%s\\n' "$(df -P -k /nix/store 2> /dev/null | awk 'NR == 2 { print $4 * 1024 }')"
printf '%s\\n' "$invalid"
`;

export interface TargetState {
  /** What the target lacks, in the closure's order. */
  missing: PathInfo[];
  /** Free bytes in its /nix/store; undefined when it cannot say. */
  freeBytes: number | undefined;
}

/** What the target lacks of a closure (fetching from its own substituters first, if asked) and its free space. */
export async function queryTarget(host: Host, closure: readonly PathInfo[], substitute: boolean): Promise<TargetState> {
  if (closure.length === 0) return { missing: [], freeBytes: undefined };
  const { stdout } = await host.run("push", ["sh", "-c", TARGET_QUERY, "hive-query", substitute ? "1" : "0"], {
    privileged: true,
    stdin: `${closure.map((p) => p.path).join("\n")}\n`,
  });
  const lines = stdout.split("\n");
  const free = Number(/^free=(\d+)$/m.exec(stdout)?.[1] ?? NaN);
  const invalid = new Set(lines.filter((l) => l.startsWith("/")));
  return { missing: closure.filter((p) => invalid.has(p.path)), freeBytes: Number.isFinite(free) ? free : undefined };
}

/** The paths of `closure` the target's store lacks. */
export async function missingOnTarget(host: Host, closure: readonly PathInfo[]): Promise<PathInfo[]> {
  return (await queryTarget(host, closure, false)).missing;
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
 * `nix-store --import` over the connection, with backpressure end to end and no temporary files.
 */
export async function copyClosure(host: Host, root: StorePath, options: CopyOptions): Promise<CopyResult> {
  const closure = options.closure ?? (await closureOf([root], host.signal ? { signal: host.signal } : {}));
  const state = await queryTarget(host, closure, options.substitute);
  const { missing } = state;
  if (missing.length === 0) return { paths: closure.length, copied: 0, bytes: 0 };
  refuseIfFull(host, state);

  const sent = await sendPaths(host, missing, options);
  return { paths: closure.length, copied: missing.length, bytes: sent };
}

/**
 * Streams one \`nix-store --export\` of `paths` (the target lacks them; their references it has,
 * or they come first) into \`nix-store --import\` on the target, compressed where that pays.
 * Resolves with the bytes sent (before compression).
 */
export async function sendPaths(
  host: Host,
  paths: readonly PathInfo[],
  options: Omit<CopyOptions, "closure" | "substitute">,
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
  const body = sniffed.compressible ? sniffed.stream.pipe(new AdaptiveGzip()) : sniffed.stream.pipe(new PassThrough());
  const importer = sniffed.compressible ? ["sh", "-c", "gzip -d | nix-store --import"] : ["nix-store", "--import"];
  const imported = host.run("push", importer, { privileged: true, stdin: body });
  imported.catch(() => undefined);
  try {
    await Promise.all([imported, exported.done]);
  } catch (error) {
    exported.stream.destroy();
    // A stream that ends without its end closes the import, so the host's nix-store does not wait.
    body.destroy();
    throw error;
  }
  return sent;
}
