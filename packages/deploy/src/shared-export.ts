import { PassThrough, type Readable } from "node:stream";
import type { StorePath } from "@hive/core";
import { exportPaths, type PathInfo } from "@hive/nix";
import { ExportSplitter } from "./export-splitter.js";

interface Request {
  paths: Set<string>;
  /** The paths this request gets, in the order their records come (set when the export starts). */
  order: StorePath[];
  out: PassThrough;
  settle: (error?: Error) => void;
  active: boolean;
}

const END_OF_EXPORT = Buffer.alloc(8);

/** One host's share of an export: its records, when it ends, and their order once it runs. */
export interface ExportHandle {
  stream: Readable;
  done: Promise<void>;
  order: () => readonly StorePath[];
}

/**
 * The order `nix-store --export` writes a set of paths in (Nix's topoSortPaths, reversed):
 * depth first from each path in sorted order, references in sorted order, dependencies first.
 * Records are routed by position, so this must be exactly Nix's order; each record's trailer is
 * checked against it all the same.
 */
function nixExportOrder(requests: readonly PathInfo[][]): StorePath[] {
  const infos = new Map<string, PathInfo>();
  for (const paths of requests) for (const info of paths) infos.set(info.path, info);
  const order: StorePath[] = [];
  const visited = new Set<string>();
  const visit = (info: PathInfo): void => {
    if (visited.has(info.path)) return;
    visited.add(info.path);
    for (const ref of [...info.references].sort()) {
      const dep = infos.get(ref);
      if (dep && ref !== info.path) visit(dep);
    }
    order.push(info.path);
  };
  for (const path of [...infos.keys()].sort()) visit(infos.get(path) as PathInfo);
  return order;
}

interface Batch {
  requests: { infos: PathInfo[]; request: Request }[];
  timer: NodeJS.Timeout;
  /** When the timer fires (ms since the epoch). */
  deadline: number;
}

/**
 * One `nix-store --export` for hosts that need paths at the same time: requests arriving within
 * a short window share a single export of the union, split record by record and fanned out to
 * each host that needs the path, at the pace of the slowest (backpressure, no buffering to disk).
 */
export class SharedExporter {
  private batch: Batch | undefined;
  /** Hosts in their push step that have not asked for an export yet. */
  private undecided = 0;
  /** Hosts taking their lock that may push next (expect). */
  private expected = 0;
  /** How many exports ran (to prove sharing). */
  exportsRun = 0;

  /**
   * @param windowMs how long a batch waits for more requests when nobody said they would come;
   *   with participants (join), it starts as soon as every one of them has asked or left.
   * @param expectedMs how long a batch whose participants have all asked still waits for hosts
   *   that are taking their lock (expect).
   */
  constructor(
    private readonly windowMs = 50,
    private readonly expectedMs = 300,
  ) {}

  /**
   * A host taking its lock, which may push next: a batch whose participants have all asked waits
   * for it a little (at most `expectedMs`), so that hosts whose locks answer a little apart still
   * share one export. Call the result once the host has joined, or when it will not push now.
   */
  expect(): () => void {
    this.expected++;
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      this.expected--;
      this.ready();
    };
  }

  /** Starts the batch once nobody it waits for is left (with only expected hosts left, soon). */
  private ready(): void {
    const batch = this.batch;
    if (batch === undefined || this.undecided > 0) return;
    if (this.expected === 0) {
      clearTimeout(batch.timer);
      this.run(batch.requests);
      return;
    }
    const deadline = Math.min(batch.deadline, Date.now() + this.expectedMs);
    if (deadline === batch.deadline) return;
    clearTimeout(batch.timer);
    batch.deadline = deadline;
    batch.timer = setTimeout(() => this.run(batch.requests), deadline - Date.now());
  }

  /** A host entering its push step: the next export waits for it to ask (or leave). */
  join(): { request: (paths: readonly PathInfo[]) => ExportHandle; leave: () => void } {
    this.undecided++;
    let decided = false;
    const decide = () => {
      if (decided) return;
      decided = true;
      this.undecided--;
      this.ready();
    };
    return {
      request: (paths) => {
        const handle = this.request(paths, { wait: true });
        decide();
        return handle;
      },
      leave: decide,
    };
  }

  /** Asks for an export of `paths` (topologically ordered), shared with requests of the same batch. */
  request(paths: readonly PathInfo[], { wait = false }: { wait?: boolean } = {}): ExportHandle {
    // What waits here for a host is bounded per host pushed to at once (a slower host pauses the
    // export for all): a quarter MiB keeps each host fed (measured: as fast as 1 MiB on 10 hosts).
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    let settle: (error?: Error) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    const request: Request = { paths: new Set(paths.map((p) => p.path)), order: [], out, settle, active: true };
    out.on("close", () => {
      request.active = false;
    });
    // A failed export destroys the stream with its error, which `done` reports to the copier.
    out.on("error", () => undefined);
    if (this.batch === undefined) {
      // Participants still deciding get a longer grace; a lone request waits only the window.
      const delay = wait ? Math.max(this.windowMs, 2000) : this.windowMs;
      const batch: Batch = {
        requests: [],
        timer: setTimeout(() => this.run(batch.requests), delay),
        deadline: Date.now() + delay,
      };
      this.batch = batch;
    }
    this.batch.requests.push({ infos: [...paths], request });
    return { stream: out, done: finished, order: () => request.order };
  }

  private run(entries: { infos: PathInfo[]; request: Request }[]): void {
    this.batch = undefined;
    this.exportsRun++;
    const order = nixExportOrder(entries.map((e) => e.infos));
    const requests = entries.map((e) => e.request);
    const consumers = order.map((path) => requests.filter((r) => r.paths.has(path)));
    for (const r of requests) r.order = order.filter((path) => r.paths.has(path));
    const exported = exportPaths(order);
    let record = 0;
    let ended = false;
    const route = (segment: Buffer, index: number) => {
      let full = false;
      for (const r of consumers[index] ?? []) {
        if (r.active && !r.out.write(segment)) full = true;
      }
      return full;
    };
    const splitter = new ExportSplitter();
    // Its failures (killed, a record out of place) end the export; `done` tells every request.
    let streamError: Error | undefined;
    exported.stream.on("error", (error: Error) => {
      streamError ??= error;
    });
    exported.stream.on("data", (chunk: Buffer) => {
      const { recordEnds, recordPaths, end } = splitter.push(chunk);
      const misplaced = recordPaths.findIndex((path, i) => path !== order[record + i]);
      if (misplaced !== -1) {
        exported.stream.destroy(
          new Error(
            `nix-store --export wrote ${recordPaths[misplaced] ?? "?"} where ${order[record + misplaced] ?? "nothing"} was expected`,
          ),
        );
        return;
      }
      let start = 0;
      let full = false;
      for (const at of recordEnds) {
        full = route(chunk.subarray(start, at), record) || full;
        start = at;
        record++;
      }
      if (end !== undefined) ended = true;
      else if (start < chunk.length) full = route(chunk.subarray(start), record) || full;
      if (full) {
        exported.stream.pause();
        const waiting = requests.filter((r) => r.active && r.out.writableNeedDrain);
        let left = waiting.length;
        if (left === 0) exported.stream.resume();
        for (const r of waiting) {
          const resume = () => {
            r.out.off("drain", resume);
            r.out.off("close", resume);
            if (--left === 0) exported.stream.resume();
          };
          r.out.once("drain", resume);
          r.out.once("close", resume);
        }
      }
    });
    exported.done.then(
      () => {
        const error = ended ? undefined : (streamError ?? new Error("nix-store --export ended early"));
        for (const r of requests) {
          if (r.active && !error) r.out.end(END_OF_EXPORT);
          else if (r.active) r.out.destroy(error);
          r.settle(error);
        }
      },
      (error: unknown) => {
        for (const r of requests) {
          if (r.active) r.out.destroy(error as Error);
          r.settle(error as Error);
        }
      },
    );
  }
}
