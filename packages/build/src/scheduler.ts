import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { HiveError, LineSplitter, parseStorePath, type DrvPath, type NodeName, type StorePath } from "@hive/core";
import { addGcRoot, invalidPaths, realiseDerivation, streamNix } from "@hive/nix";
import { closureToBuild, planBuild, type DrvInfo } from "./derivations.js";
import { formatMachines, type Machine } from "./machines.js";
import { parseNixLogLine } from "./nix-log.js";
import { machinesFor } from "./placement.js";

export interface BuildProgress {
  node: NodeName;
  done: number;
  total: number;
  /** Derivations of this node building now (names), with where when not here. */
  building: string[];
}

export interface SchedulerOptions {
  /** This machine's system and extra-platforms. */
  localSystems: readonly string[];
  machines: readonly Machine[];
  /** Local builds at once (--max-jobs). */
  maxJobs: number;
  /** Cores each build may use (--cores; 0 = all). */
  cores?: number;
  substitute: boolean;
  /** Extra arguments for every Nix build command (--nix-option NAME VALUE pairs). */
  nixArgs?: readonly string[];
  /** Each node's build log goes to `<logDir>/<node>.log`. */
  logDir?: string;
  /** Keep each node's system as a GC root `<dir>/node-<name>` (--keep-result). */
  gcRootDir?: string;
  /** Added to Nix's environment: NIX_SSHOPTS, so the build hook reaches builders as hive's SSH would. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (progress: BuildProgress) => void;
  onLog?: (node: NodeName, line: string) => void;
}

interface Job {
  info: DrvInfo;
  /** Nodes that need it (for logs and progress). */
  nodes: Set<NodeName>;
  log: string[];
  where: string | undefined;
  state: "waiting" | "running" | "built" | "failed";
  /** Why it failed: its own build, or one it needs. */
  error: string | undefined;
  settled: Promise<void>;
  settle: () => void;
}

interface Request {
  node: NodeName;
  drv: DrvPath;
  /** The system the derivation builds, when known: already valid here, nothing is planned or run. */
  outPath: StorePath | undefined;
  resolve: (out: StorePath) => void;
  reject: (error: unknown) => void;
}

const LOG_TAIL = 25;
/** How often builds that started are checked for valid outputs. */
const POLL_MS = 250;
/** Nodes arriving this close together (one evaluation chunk) are planned and built as one batch. */
const BATCH_WINDOW_MS = 25;
const nameOf = (drv: string) => drv.replace(/^\/nix\/store\/[0-9a-z]{32}-/, "").replace(/\.drv$/, "");

/**
 * hive's build scheduler, on top of Nix's own. Nodes that arrive together are planned together
 * (what has to be built, what can be fetched) and built by one `nix-store --realise --keep-going`,
 * so Nix schedules every derivation once, within --max-jobs here and each remote builder's
 * declared capacity, and a failure stops only what depends on it. hive follows that build through
 * Nix's internal-json log: a node's system is released for pushing as soon as its own
 * derivations are built, whatever else is still building; each node gets its progress and log.
 */
export class BuildScheduler {
  private readonly jobs = new Map<DrvPath, Job>();
  private readonly nodeJobs = new Map<NodeName, DrvPath[]>();
  private pending: Request[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The evaluation has delivered every node: nothing is worth waiting for. */
  private complete = false;
  private logDirReady: Promise<unknown> | undefined;

  constructor(private readonly options: SchedulerOptions) {}

  /** Builds (or fetches) a node's system; resolves with its output path (kept as a GC root if asked). */
  async build(node: NodeName, drv: DrvPath, outPath?: StorePath): Promise<StorePath> {
    const system = await this.scheduled(node, drv, outPath);
    if (this.options.gcRootDir !== undefined)
      await addGcRoot(system, join(this.options.gcRootDir, `node-${node}`), this.signal);
    return system;
  }

  private scheduled(node: NodeName, drv: DrvPath, outPath: StorePath | undefined): Promise<StorePath> {
    return new Promise((resolve, reject) => {
      this.pending.push({ node, drv, outPath, resolve, reject });
      this.timer ??= setTimeout(
        () => {
          this.timer = undefined;
          void this.flush();
        },
        this.complete ? 0 : BATCH_WINDOW_MS,
      );
    });
  }

  /**
   * Every node has arrived (the evaluation ended): what waits for the batch window is planned
   * now, and later requests (a stage that deploys what was built) only batch within a turn.
   */
  allArrived(): void {
    this.complete = true;
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.flush();
  }

  private get signal(): { signal?: AbortSignal } {
    return this.options.signal ? { signal: this.options.signal } : {};
  }

  private async flush(): Promise<void> {
    let batch = this.pending.splice(0);
    let plan: Map<DrvPath, DrvInfo>;
    try {
      // Systems this store already holds (built before) need no plan: one validity query.
      const known = batch.flatMap((r) => (r.outPath === undefined ? [] : [r.outPath]));
      const invalid = await invalidPaths(known, this.signal);
      for (const request of batch)
        if (request.outPath !== undefined && !invalid.has(request.outPath)) request.resolve(request.outPath);
      batch = batch.filter((r) => r.outPath === undefined || invalid.has(r.outPath));
      if (batch.length === 0) return;
      plan = (
        await planBuild([...new Set(batch.map((r) => r.drv))], {
          substitute: this.options.substitute,
          ...(this.options.nixArgs ? { nixArgs: this.options.nixArgs } : {}),
          ...this.signal,
        })
      ).toBuild;
    } catch (error) {
      for (const request of batch) request.reject(error);
      return;
    }
    const fresh = [...plan.values()].filter((info) => !this.jobs.has(info.path)).map((info) => this.newJob(info));
    this.failUnbuildable(fresh, plan);
    for (const request of batch) void this.follow(request, closureToBuild(plan, request.drv));
    const toRun = fresh.filter((j) => j.state === "waiting");
    // Nix works through what it is asked for roughly in order: the nodes' own systems, in the
    // order they came, so that early nodes finish early instead of every node finishing last.
    const running = new Set(toRun);
    const roots = batch.flatMap((r) => {
      const job = this.jobs.get(r.drv);
      return job !== undefined && running.has(job) ? [r.drv] : [];
    });
    if (toRun.length > 0) void this.runBatch(toRun, [...new Set(roots)]);
  }

  private newJob(info: DrvInfo): Job {
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const job: Job = {
      info,
      nodes: new Set(),
      log: [],
      where: undefined,
      state: "waiting",
      error: undefined,
      settled,
      settle,
    };
    this.jobs.set(info.path, job);
    return job;
  }

  /** Derivations nothing here or among the builders can build fail now, and what needs them. */
  private failUnbuildable(fresh: readonly Job[], plan: ReadonlyMap<DrvPath, DrvInfo>): void {
    const buildable = (info: DrvInfo) =>
      (this.options.localSystems.includes(info.system) && info.features.length === 0) ||
      machinesFor(this.options.machines, info.system, info.features).length > 0;
    const blocked = new Map<DrvPath, string>();
    const visit = (drv: DrvPath): string | undefined => {
      if (blocked.has(drv)) return blocked.get(drv);
      const info = plan.get(drv);
      if (info === undefined) return undefined;
      const reason = !buildable(info)
        ? `nothing can build ${nameOf(drv)}: it needs ${info.system}${info.features.length > 0 ? ` with ${info.features.join(", ")}` : ""}`
        : info.inputs.map(visit).find((r) => r !== undefined);
      if (reason !== undefined) blocked.set(drv, reason);
      return reason;
    };
    for (const job of fresh) {
      const reason = visit(job.info.path);
      if (reason !== undefined) this.finish(job, "failed", reason);
    }
  }

  /** Waits for a node's derivations, then hands on its system (fetching what was not built). */
  private async follow(request: Request, needed: readonly DrvPath[]): Promise<void> {
    const { node, drv } = request;
    const jobs = needed.flatMap((d) => this.jobs.get(d) ?? []);
    for (const job of jobs) job.nodes.add(node);
    this.nodeJobs.set(node, [...needed]);
    this.report(node);
    // All built, or the first failure: a node that cannot be built need not wait for the rest.
    await new Promise<void>((resolve) => {
      let left = jobs.length;
      if (left === 0) resolve();
      for (const job of jobs)
        void job.settled.then(() => {
          left--;
          if (job.state === "failed" || left === 0) resolve();
        });
    });
    const failed = jobs.filter((j) => j.state === "failed");
    if (failed.length > 0) {
      // The derivation that failed on its own, not those that only needed it.
      const root = failed.find((j) => !(j.error ?? "").startsWith("not built")) ?? failed[0];
      const log = this.options.logDir ? join(this.options.logDir, `${node}.log`) : `nix log ${root?.info.path ?? drv}`;
      request.reject(
        new HiveError("HIVE_BUILD_FAILED", `${root?.error ?? `building ${drv} failed`}\nthe whole log: ${log}`),
      );
      return;
    }
    // A system built here and checked valid needs no second look; others are fetched or already valid.
    const [built] = this.jobs.get(drv)?.state === "built" ? (this.jobs.get(drv)?.info.outputs ?? []) : [];
    try {
      request.resolve(built !== undefined ? parseStorePath(built) : await this.realise(node, drv));
    } catch (error) {
      request.reject(error);
    }
  }

  private finish(job: Job, state: "built" | "failed", error?: string): void {
    if (job.state === "built" || job.state === "failed") return;
    job.state = state;
    job.error = error;
    job.settle();
    for (const node of job.nodes) this.report(node);
  }

  private async runBatch(jobs: readonly Job[], roots: readonly DrvPath[]): Promise<void> {
    const byActivity = new Map<number, Job>();
    const failedHere = new Set<string>();
    // Valid outputs mean built. Nix 2.8 stops the build activity of a derivation it was asked for
    // only when the whole run ends, so builds that started are also checked every so often, not
    // only when they stop; whatever is left is settled at the end.
    let stopped: Job[] = [];
    let checking: NodeJS.Timeout | undefined;
    const checks: Promise<void>[] = [];
    const check = () => {
      checking = undefined;
      // A derivation whose outputs Nix did not show (content-addressed) can only be judged once stopped.
      const started = [...byActivity.values()].filter((j) => j.info.outputs.length > 0);
      const jobs = [...new Set([...stopped, ...started])];
      stopped = [];
      const done = this.invalidOutputs(jobs).then((invalid) => {
        for (const job of jobs) if (!job.info.outputs.some((o) => invalid.has(o))) this.finish(job, "built");
      });
      checks.push(done);
      return done;
    };
    const poll = setInterval(() => {
      if (byActivity.size > 0 && checking === undefined) checking = setTimeout(() => void check(), 0);
    }, POLL_MS);
    const args = [
      "--realise",
      "--keep-going",
      "--log-format",
      "internal-json",
      "--max-jobs",
      String(this.options.maxJobs),
      "--builders",
      formatMachines(this.options.machines),
      ...(this.options.cores !== undefined ? ["--cores", String(this.options.cores)] : []),
      ...(this.options.substitute ? [] : ["--option", "substitute", "false"]),
      ...(this.options.nixArgs ?? []),
      ...(roots.length > 0 ? roots : jobs.map((j) => j.info.path)),
    ];
    const onLine = (line: string) => {
      const event = parseNixLogLine(line);
      if (event === undefined) return;
      switch (event.kind) {
        case "building": {
          const job = this.jobs.get(event.drv as DrvPath);
          if (job === undefined) return;
          byActivity.set(event.id, job);
          job.state = "running";
          job.where = event.machine;
          this.log(job, `building${event.machine ? ` on ${event.machine}` : ""}`);
          for (const node of job.nodes) this.report(node);
          return;
        }
        case "log": {
          const job = event.id === undefined ? undefined : byActivity.get(event.id);
          if (job) this.log(job, event.line);
          return;
        }
        case "failed": {
          // Nix's word on a failed build is final: the nodes that need it hear now, not at the end.
          failedHere.add(event.drv);
          const job = this.jobs.get(event.drv as DrvPath);
          if (job === undefined) return;
          this.log(job, event.line);
          this.finish(job, "failed", failureMessage(job));
          return;
        }
        case "stopped": {
          // Nix reports a failure after the build's activity stops: its outputs tell.
          const job = byActivity.get(event.id);
          if (job === undefined) return;
          byActivity.delete(event.id);
          stopped.push(job);
          checking ??= setTimeout(() => void check(), 10);
          return;
        }
      }
    };
    const lines = new LineSplitter(onLine, 0);
    await streamNix("nix-store", args, {
      env: this.options.env ?? {},
      ...this.signal,
      onStderr: (chunk) => lines.push(chunk),
    });
    lines.end();
    clearInterval(poll);
    if (checking !== undefined) clearTimeout(checking);
    await Promise.all([...checks, check()]);
    // What this run never built itself: built by another run meanwhile, or not built at all.
    const open = jobs.filter((j) => j.state === "waiting" || j.state === "running");
    const invalid = await this.invalidOutputs(open);
    for (const job of open) {
      if (!job.info.outputs.some((o) => invalid.has(o))) this.finish(job, "built");
      else if (failedHere.has(job.info.path)) this.finish(job, "failed", failureMessage(job));
      else this.finish(job, "failed", `not built: ${nameOf(job.info.path)} needs a derivation that failed`);
    }
  }

  /** Outputs not (yet) in the store; a check that fails is an error, never "all built". */
  private invalidOutputs(jobs: readonly Job[]): Promise<Set<string>> {
    return invalidPaths(jobs.flatMap((j) => j.info.outputs.map(parseStorePath)));
  }

  private log(job: Job, text: string): void {
    job.log.push(text);
    if (job.log.length > LOG_TAIL) job.log.shift();
    for (const node of job.nodes) {
      this.options.onLog?.(node, `${nameOf(job.info.path)}> ${text}`);
      void this.writeLog(node, `${nameOf(job.info.path)}> ${text}\n`);
    }
  }

  private async writeLog(node: NodeName, text: string): Promise<void> {
    const dir = this.options.logDir;
    if (dir === undefined) return;
    this.logDirReady ??= mkdir(dir, { recursive: true });
    try {
      await this.logDirReady;
      await appendFile(join(dir, `${node}.log`), text);
    } catch {
      // a log that cannot be written does not fail the build
    }
  }

  private report(node: NodeName): void {
    const jobs = (this.nodeJobs.get(node) ?? []).flatMap((d) => this.jobs.get(d) ?? []);
    this.options.onProgress?.({
      node,
      total: jobs.length,
      done: jobs.filter((j) => j.state === "built").length,
      building: jobs
        .filter((j) => j.state === "running")
        .map((j) => `${nameOf(j.info.path)}${j.where ? ` on ${j.where}` : ""}`),
    });
  }

  /** The last step of a node: its system, with anything not built fetched (instant once built). */
  private async realise(node: NodeName, drv: DrvPath): Promise<StorePath> {
    const [out] = await realiseDerivation(drv, {
      nixArgs: [
        "--builders",
        formatMachines(this.options.machines),
        ...(this.options.substitute ? [] : ["--option", "substitute", "false"]),
        ...(this.options.nixArgs ?? []),
      ],
      env: this.options.env ?? {},
      ...this.signal,
    });
    if (out === undefined) throw new HiveError("HIVE_BUILD_FAILED", `node ${node}: ${drv} has no output`);
    return out;
  }
}

function failureMessage(job: Job): string {
  return `building ${job.info.path}${job.where ? ` on ${job.where}` : ""} failed:\n${job.log.slice(-15).join("\n")}`;
}
