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
}

export interface CopyResult {
  paths: number;
  copied: number;
  bytes: number;
}

const QUERY_CHUNK = 1000;

/** The paths of `closure` the target's store lacks: one query (per thousand paths). */
export async function missingOnTarget(host: Host, closure: readonly PathInfo[]): Promise<PathInfo[]> {
  const missing = new Set<string>();
  for (let i = 0; i < closure.length; i += QUERY_CHUNK) {
    const paths = closure.slice(i, i + QUERY_CHUNK).map((p) => p.path);
    const { stdout } = await host.run("push", ["nix-store", "--check-validity", "--print-invalid", ...paths], {
      privileged: true,
    });
    for (const line of stdout.split("\n")) if (line !== "") missing.add(line);
  }
  return closure.filter((p) => missing.has(p.path));
}

/** What the target lacks of a closure, after it fetched what it could from its own substituters. */
export async function stillMissing(host: Host, closure: readonly PathInfo[], substitute: boolean): Promise<PathInfo[]> {
  const missing = await missingOnTarget(host, closure);
  if (missing.length === 0 || !substitute) return missing;
  // Substitution failing is fine: whatever is still missing is copied.
  await host
    .exec(["nix-store", "--realise", ...missing.map((p) => p.path)], { privileged: true })
    .catch(() => undefined);
  return missingOnTarget(host, missing);
}

// Free bytes where the store lives, as df reports them (POSIX output, 1024-byte blocks).
const FREE_SPACE = `df -P -k /nix/store | awk 'NR == 2 { print $4 * 1024 }'`;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Refuses a push that cannot fit, before any byte is sent. */
export async function checkFreeSpace(host: Host, needed: number): Promise<void> {
  const result = await host.exec(["sh", "-c", FREE_SPACE]);
  const free = Number(result.stdout.trim());
  // A host that cannot say is not refused: the import itself reports a full disk.
  if (result.exitCode !== 0 || result.stdout.trim() === "" || !Number.isFinite(free)) return;
  if (needed > free)
    throw new HiveError(
      "HIVE_NO_SPACE",
      `node ${host.node}: push: the paths to copy need ${mib(needed)}, and ${host.description} has ${mib(free)} free in /nix/store`,
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
  const closure = await closureOf([root], host.signal ? { signal: host.signal } : {});
  const missing = await stillMissing(host, closure, options.substitute);
  const total = missing.reduce((sum, p) => sum + p.narSize, 0);
  if (missing.length === 0) return { paths: closure.length, copied: 0, bytes: 0 };
  await checkFreeSpace(host, total);

  const exported = options.exporter.request(missing);
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
  return { paths: closure.length, copied: missing.length, bytes: sent };
}
