import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import PQueue from "p-queue";
import { execa } from "execa";
import { HiveError, parseStorePath, type DrvPath, type NodeName, type StorePath } from "@hive/core";
import { nixEnvironment } from "@hive/nix";
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
  /** Each node's build log goes to `<logDir>/<node>.log`. */
  logDir?: string;
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
  done: Promise<void>;
  state: "waiting" | "running" | "built" | "failed";
}

const LOG_TAIL = 25;
const nameOf = (drv: string) => drv.replace(/^\/nix\/store\/[0-9a-z]{32}-/, "").replace(/\.drv$/, "");

/**
 * hive's one build scheduler. Each derivation that has to be built is built once, by its own
 * `nix-store --realise` as soon as its inputs are built: here within --max-jobs, or on the remote
 * builders that declare its system within their capacity. A failure fails the derivations that
 * need it, and through them only the nodes that need it (--keep-going). A node's system is ready
 * as soon as its own derivations are, whatever else is still building.
 */
export class BuildScheduler {
  private readonly jobs = new Map<DrvPath, Job>();
  private readonly local: PQueue;
  private readonly remote = new Map<string, PQueue>();
  private readonly nodeJobs = new Map<NodeName, DrvPath[]>();

  constructor(private readonly options: SchedulerOptions) {
    this.local = new PQueue({ concurrency: Math.max(1, options.maxJobs) });
  }

  /** Builds (or fetches) a node's system here or on builders; resolves with its output path. */
  async build(node: NodeName, drv: DrvPath): Promise<StorePath> {
    const signal = this.options.signal ? { signal: this.options.signal } : {};
    const plan = await planBuild([drv], { substitute: this.options.substitute, ...signal });
    const needed = closureToBuild(plan.toBuild, drv);
    for (const path of needed) this.job(path, plan.toBuild).nodes.add(node);
    this.nodeJobs.set(node, needed);
    this.report(node);
    const results = await Promise.allSettled(needed.map((d) => this.jobs.get(d)?.done ?? Promise.resolve()));
    const failed = needed.find((_, i) => results[i]?.status === "rejected");
    if (failed !== undefined) throw this.failure(node, failed, results);
    // What is left is valid already or comes from substituters.
    return this.realise(node, drv);
  }

  private failure(node: NodeName, failed: DrvPath, results: PromiseSettledResult<void>[]): HiveError {
    // The derivation that failed first in this node's closure, not the ones that only depend on it.
    const own = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    const root = own.find((e) => e instanceof HiveError && !e.message.includes("dependency failed")) ?? own[0];
    const log = this.options.logDir ? join(this.options.logDir, `${node}.log`) : undefined;
    const message = root instanceof Error ? root.message : `building ${failed} failed`;
    // Node failures are reported by message alone: where the whole log is goes in it.
    return new HiveError("HIVE_BUILD_FAILED", `${message}\nthe whole log: ${log ?? `nix log ${failed}`}`);
  }

  private job(drv: DrvPath, plan: ReadonlyMap<DrvPath, DrvInfo>): Job {
    const existing = this.jobs.get(drv);
    if (existing) return existing;
    const info = plan.get(drv);
    if (info === undefined) throw new Error(`no plan for ${drv}`);
    const inputs = info.inputs.map((i) => this.job(i, plan));
    const job: Job = { info, nodes: new Set(), log: [], where: undefined, state: "waiting", done: Promise.resolve() };
    job.done = Promise.all(inputs.map((i) => i.done)).then(
      () => this.queueFor(info).add(() => this.run(job)),
      () => {
        throw new HiveError("HIVE_BUILD_FAILED", `${nameOf(drv)}: not built, a dependency failed`);
      },
    );
    job.done.catch(() => {
      job.state = "failed";
    }); // the nodes that need it observe the failure
    this.jobs.set(drv, job);
    return job;
  }

  private queueFor(info: DrvInfo): PQueue {
    if (this.options.localSystems.includes(info.system) && info.features.length === 0) return this.local;
    const machines = machinesFor(this.options.machines, info.system, info.features);
    if (machines.length === 0) {
      throw new HiveError(
        "HIVE_BUILD_FAILED",
        `${nameOf(info.path)}: nothing can build it: it needs ${info.system}${info.features.length > 0 ? ` with ${info.features.join(", ")}` : ""}`,
        { hint: "add a remote builder for it (meta.machinesFile or --builders), or build on the target" },
      );
    }
    const key = formatMachines(machines);
    let queue = this.remote.get(key);
    if (queue === undefined) {
      queue = new PQueue({ concurrency: machines.reduce((n, m) => n + m.maxJobs, 0) });
      this.remote.set(key, queue);
    }
    return queue;
  }

  private async run(job: Job): Promise<void> {
    const { info } = job;
    const here = this.queueFor(info) === this.local;
    const builders = here ? "" : formatMachines(machinesFor(this.options.machines, info.system, info.features));
    job.state = "running";
    job.where = here ? undefined : builders.split(" ")[0];
    for (const node of job.nodes) this.report(node);
    const args = [
      "--realise",
      info.path,
      "--log-format",
      "internal-json",
      "--max-jobs",
      here ? "1" : "0",
      "--builders",
      builders,
      ...(this.options.cores !== undefined ? ["--cores", String(this.options.cores)] : []),
      ...(this.options.substitute ? [] : ["--option", "substitute", "false"]),
    ];
    const child = execa("nix-store", args, {
      env: { ...nixEnvironment(), ...sshOptionsForNix() },
      extendEnv: false,
      reject: false,
      stdin: "ignore",
      ...(this.options.signal ? { cancelSignal: this.options.signal } : {}),
    });
    let pending = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.onLine(job, line);
    });
    const result = await child;
    if (pending !== "") this.onLine(job, pending);
    job.state = result.exitCode === 0 ? "built" : "failed";
    if (result.isCanceled) throw this.options.signal?.reason ?? new Error("aborted");
    if (result.exitCode !== 0) {
      throw new HiveError(
        "HIVE_BUILD_FAILED",
        `building ${info.path}${job.where ? ` on ${job.where}` : ""} failed:\n${job.log.slice(-15).join("\n")}`,
      );
    }
    for (const node of job.nodes) this.report(node);
  }

  private onLine(job: Job, line: string): void {
    const event = parseNixLogLine(line);
    if (event === undefined) return;
    const text =
      event.kind === "log" ? event.line : `building ${nameOf(event.drv)}${event.machine ? ` on ${event.machine}` : ""}`;
    if (event.kind === "building" && event.machine) job.where = event.machine;
    job.log.push(text);
    if (job.log.length > LOG_TAIL) job.log.shift();
    for (const node of job.nodes) {
      this.options.onLog?.(node, text);
      if (this.options.logDir !== undefined) void this.writeLog(node, `${nameOf(job.info.path)}> ${text}\n`);
    }
  }

  private logDirReady: Promise<unknown> | undefined;
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
    const needed = this.nodeJobs.get(node) ?? [];
    const jobs = needed.map((d) => this.jobs.get(d)).filter((j): j is Job => j !== undefined);
    this.options.onProgress?.({
      node,
      total: jobs.length,
      done: jobs.filter((j) => j.state === "built").length,
      building: jobs
        .filter((j) => j.state === "running")
        .map((j) => `${nameOf(j.info.path)}${j.where ? ` on ${j.where}` : ""}`),
    });
  }

  /** The last step of a node: its toplevel, with anything left fetched (cheap once built). */
  private async realise(node: NodeName, drv: DrvPath): Promise<StorePath> {
    const result = await execa(
      "nix-store",
      [
        "--realise",
        drv,
        ...(this.options.substitute ? [] : ["--option", "substitute", "false"]),
        "--max-jobs",
        "0",
        "--builders",
        "",
      ],
      {
        env: nixEnvironment(),
        extendEnv: false,
        reject: false,
        stdin: "ignore",
        ...(this.options.signal ? { cancelSignal: this.options.signal } : {}),
      },
    );
    if (result.exitCode !== 0)
      throw new HiveError(
        "HIVE_BUILD_FAILED",
        `node ${node}: realising ${drv} failed:\n${result.stderr.trim().split("\n").slice(-10).join("\n")}`,
      );
    const [out] = result.stdout.split("\n").filter((l) => l !== "");
    if (out === undefined) throw new HiveError("HIVE_BUILD_FAILED", `node ${node}: ${drv} has no output`);
    return parseStorePath(out);
  }
}

/** Nix's build hook reaches builders with OpenSSH: through hive's SSH_CONFIG_FILE when one is set. */
function sshOptionsForNix(): Record<string, string> {
  const config = process.env.SSH_CONFIG_FILE;
  if (process.env.NIX_SSHOPTS !== undefined) return { NIX_SSHOPTS: process.env.NIX_SSHOPTS };
  return config ? { NIX_SSHOPTS: `-F ${config}` } : {};
}
