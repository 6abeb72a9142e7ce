import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/**
 * V8's code cache for the installed bundle: what V8 compiled in one run, handed back to the next
 * so that it skips parsing hive's 3 MB (about 70 ms of every start here). One file per command
 * (what `apply` compiles is not what `--version` does), in the user's own cache directory.
 *
 * The cache is code that runs: it is read only from a directory and a file this user owns and
 * nobody else can write, never through a symbolic link. V8 refuses data from another V8 or other
 * flags; the file's name holds the bundle's size, mtime and inode, so an upgraded hive never
 * reads what an older one wrote (V8's own check looks at the source's length only).
 */
export interface CompileCache {
  readonly dir: string;
  readonly file: string;
  /** What every file of this bundle's cache starts with. */
  readonly prefix: string;
  /** What an earlier run left; undefined when there is none or it is not to be trusted. */
  readonly data: Buffer | undefined;
}

/** Files kept in all: a cache per command and bundle, and a few commands are all anyone runs. */
const KEEP = 16;
/** How long another bundle's files stay after their last write. */
const OTHER_BUNDLE_MS = 24 * 3600 * 1000;

/** Where the cache lives: $XDG_CACHE_HOME/hive/v8, else ~/.cache/hive/v8; none when turned off. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env["HIVE_NO_COMPILE_CACHE"] !== undefined && env["HIVE_NO_COMPILE_CACHE"] !== "") return undefined;
  const xdg = env["XDG_CACHE_HOME"];
  const base = xdg?.startsWith("/") ? xdg : env["HOME"]?.startsWith("/") ? join(env["HOME"], ".cache") : undefined;
  return base === undefined ? undefined : join(base, "hive", "v8");
}

/** Owned by this user, written by nobody else, and not a link. */
function ownedAlone(path: string, kind: "file" | "dir"): boolean {
  let stat;
  try {
    stat = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return false; // e.g. a file where a directory on the way should be
  }
  if (stat === undefined || (kind === "file" ? !stat.isFile() : !stat.isDirectory())) return false;
  return stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
}

/** The cache for running `bundle` with `command` (the first argument), if there can be one. */
export function openCompileCache(
  bundle: string,
  command: string | undefined,
  dir: string | undefined = compileCacheDir(),
): CompileCache | undefined {
  if (dir === undefined) return undefined;
  try {
    const { size, mtimeMs, ino } = statSync(bundle);
    const name = command !== undefined && /^[a-z][a-z-]{0,31}$/.test(command) ? command : "other";
    const prefix = `${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}-${ino}-`;
    const file = join(dir, `${prefix}${name}.v8`);
    const data = ownedAlone(dir, "dir") && ownedAlone(file, "file") ? readFileSync(file) : undefined;
    return { dir, file, prefix, data };
  } catch {
    return undefined;
  }
}

/** Stores `data` for the next run (whole or not at all), and drops what is stale (prune). Never throws. */
export function saveCompileCache(cache: CompileCache, data: Buffer): void {
  try {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    if (!ownedAlone(cache.dir, "dir")) return;
    const partial = `${cache.file}.${process.pid}.partial`;
    writeFileSync(partial, data, { mode: 0o600 });
    renameSync(partial, cache.file);
    prune(cache);
  } catch {
    // A cache that cannot be written is only a slower next start.
  }
}

/** Drops writes that died halfway, other bundles' files a day old, and all but the newest KEEP. */
function prune(cache: CompileCache): void {
  const now = Date.now();
  const kept: { path: string; mtimeMs: number }[] = [];
  for (const entry of readdirSync(cache.dir)) {
    const path = join(cache.dir, entry);
    const age = now - statSync(path).mtimeMs;
    // A write that died halfway (one still under way is younger than a minute).
    if (entry.endsWith(".partial")) {
      if (age > 60_000) unlinkSync(path);
    } else if (entry.endsWith(".v8")) {
      // Another bundle's (an older hive, another Node, a second install) stays a day after its
      // last write: two installs used in turn keep theirs.
      if (!entry.startsWith(cache.prefix) && age > OTHER_BUNDLE_MS) unlinkSync(path);
      else kept.push({ path, mtimeMs: now - age });
    }
  }
  kept.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of kept.slice(KEEP)) unlinkSync(old.path);
}
