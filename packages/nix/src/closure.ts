import { parseStorePath, type StorePath } from "@hive/core";
import { nixInterrupted, runNix } from "./nix-command.js";

export interface PathInfo {
  path: StorePath;
  narSize: number;
  references: StorePath[];
  /** What a target's store needs to add the path from its NAR (nix-store --serve). */
  narHash?: string;
  deriver?: string;
  ca?: string;
  signatures?: string[];
  registrationTime?: number;
  ultimate?: boolean;
}

type Infos = Map<string, PathInfo>;

/** Every path `nix path-info --recursive` knows of the roots, with sizes and references. */
async function pathInfos(roots: readonly StorePath[], signal: AbortSignal | undefined): Promise<Infos> {
  // A .drv root means the derivation's own closure (to build it elsewhere), not its outputs.
  const derivation = roots.some((p) => p.endsWith(".drv")) ? ["--derivation"] : [];
  const { stdout } = await runNix(
    "nix",
    ["path-info", "--json", "--recursive", ...derivation, ...roots],
    signal ? { signal } : {},
  );
  const raw = JSON.parse(stdout) as RawPathInfo[];
  return new Map(raw.map((r) => [r.path, pathInfo(r)]));
}

interface RawPathInfo {
  path: string;
  narSize?: number;
  references?: string[];
  narHash?: string;
  deriver?: string | null;
  ca?: string | null;
  signatures?: string[];
  registrationTime?: number;
  ultimate?: boolean;
}

function pathInfo(r: RawPathInfo): PathInfo {
  const info: PathInfo = {
    path: parseStorePath(r.path),
    narSize: r.narSize ?? 0,
    references: (r.references ?? []).map(parseStorePath),
  };
  if (typeof r.narHash === "string") info.narHash = r.narHash;
  if (typeof r.deriver === "string") info.deriver = r.deriver;
  if (typeof r.ca === "string") info.ca = r.ca;
  if (Array.isArray(r.signatures)) info.signatures = r.signatures;
  if (typeof r.registrationTime === "number") info.registrationTime = r.registrationTime;
  if (r.ultimate === true) info.ultimate = true;
  return info;
}

/**
 * The closure of `roots` within `infos`, dependencies first (what `nix-store --import` needs), in
 * the order one `nix path-info` of those roots alone gave: paths by name, each after its references.
 */
function orderedClosure(infos: Infos, roots: readonly StorePath[]): PathInfo[] {
  const reachable = new Map<string, PathInfo>();
  const pending = [...roots];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const info = infos.get(path);
    if (info === undefined || reachable.has(path)) continue;
    reachable.set(path, info);
    pending.push(...info.references);
  }
  const ordered: PathInfo[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (info: PathInfo): void => {
    if (state.has(info.path)) return; // done, or a self-reference
    state.set(info.path, "visiting");
    for (const ref of info.references) {
      const dep = reachable.get(ref);
      if (dep && ref !== info.path) visit(dep);
    }
    state.set(info.path, "done");
    ordered.push(info);
  };
  for (const info of [...reachable.values()].sort((a, b) => a.path.localeCompare(b.path))) visit(info);
  return ordered;
}

interface Asked {
  roots: readonly StorePath[];
  signal: AbortSignal | undefined;
  resolve: (closure: PathInfo[]) => void;
  reject: (error: unknown) => void;
}

/**
 * One `nix path-info` at a time: whoever asks while one runs joins the next, which asks for all
 * of their roots at once. A fleet's pushes ask at about the same moment; each asking alone started
 * a nix process per host. The first asker waits for nothing.
 */
class ClosureQueries {
  private queued: Asked[] = [];
  private draining = false;

  ask(roots: readonly StorePath[], signal: AbortSignal | undefined): Promise<PathInfo[]> {
    return new Promise((resolve, reject) => {
      this.queued.push({ roots, signal, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0).filter((a) => !this.abandoned(a));
        await this.answer(batch);
      }
    } finally {
      this.draining = false;
    }
  }

  /** An asker whose run was interrupted before its turn: answered at once. */
  private abandoned(asked: Asked): boolean {
    if (!asked.signal?.aborted) return false;
    asked.reject(nixInterrupted("nix"));
    return true;
  }

  /** Asks for one asker's roots alone (its own signal stops the query). */
  private async answerAlone(asked: Asked): Promise<void> {
    await pathInfos(asked.roots, asked.signal).then(
      (infos) => asked.resolve(orderedClosure(infos, asked.roots)),
      asked.reject,
    );
  }

  private async answer(batch: readonly Asked[]): Promise<void> {
    const [only] = batch;
    if (only === undefined) return;
    if (batch.length === 1) return this.answerAlone(only);
    const roots = [...new Set(batch.flatMap((a) => a.roots))];
    // Several: an asker whose run is interrupted stops waiting; the query goes on for the others.
    const waits = batch.map((asked) => {
      const onAbort = () => asked.reject(nixInterrupted("nix"));
      asked.signal?.addEventListener("abort", onAbort, { once: true });
      return () => asked.signal?.removeEventListener("abort", onAbort);
    });
    try {
      const infos = await pathInfos(roots, undefined);
      for (const asked of batch) asked.resolve(orderedClosure(infos, asked.roots));
    } catch {
      // One path that is not valid fails the whole query: each asks alone, for its own error.
      await Promise.all(batch.map((asked) => this.answerAlone(asked)));
    } finally {
      for (const stop of waits) stop();
    }
  }
}

const queries = new ClosureQueries();

/**
 * The closure of some store paths with sizes, dependencies first (what `nix-store --import`
 * needs). Askers at the same time share one `nix path-info` call.
 */
export function closureOf(paths: readonly StorePath[], options: { signal?: AbortSignal } = {}): Promise<PathInfo[]> {
  return queries.ask(paths, options.signal);
}
