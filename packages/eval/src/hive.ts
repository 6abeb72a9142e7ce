import {
  HiveError,
  parseDeployment,
  parseDrvPath,
  parseHiveInfo,
  parseStorePath,
  parseNodeFilter,
  selectNodes,
  type Deployment,
  type DrvPath,
  type HiveInfo,
  type NodeConfig,
  type NodeFilter,
  type NodeName,
  type StorePath,
} from "@hive/core";
import { dirname } from "node:path";
import type { NixOptions } from "@hive/nix";
import { evaluateInChunks, type NodeOutcome } from "./chunked-eval.js";
import { resolveEvalLimits, type EvalLimits } from "./eval-limits.js";
import { EvaluatorQuery, type MeasuredResult } from "./evaluator-query.js";
import { resolveHiveSource, type HiveSource } from "./hive-source.js";
import { dirtyGitWarning } from "./git-state.js";
import { nixString, nixStringList } from "./nix-literal.js";
import { explicitFieldsOf, Inventory } from "./inventory.js";

export interface OpenHiveOptions {
  /** `-f`: a hive.nix, flake.nix, directory or flake URI; searched upward from cwd if absent. */
  config?: string | undefined;
  cwd: string;
  nix?: NixOptions;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
  /** `--inventory`: a hive.yaml elsewhere than beside the hive. */
  inventory?: string | undefined;
  /**
   * Nodes about to be evaluated (named on the command line): their evaluation starts beside the
   * hive's own, instead of after it. Names the hive lacks only waste that one query.
   */
  prefetch?: readonly string[] | undefined;
}

/** A speculative `e.eval` of named nodes, started while the hive opens. */
interface Prefetched {
  nodes: ReadonlySet<string>;
  result: Promise<MeasuredResult | undefined>;
  /** Stops its nix process: an interruption, or a selection that does not need it. */
  controller: AbortController;
}

export interface EvaluatedNode extends NodeConfig {
  drvPath: DrvPath;
  /** The system the derivation builds (known without building it). */
  outPath: StorePath;
  /** The derivation's `system`: what can build it. */
  buildSystem: string;
}

export interface ChunkOptions {
  limits?: EvalLimits;
  signal?: AbortSignal;
  onChunk?: (chunk: readonly NodeName[]) => void;
}

/** An introspection expression: a file holding a function, or its text (`-E`). */
export type IntrospectionExpression = { file: string } | { text: string };

function asRecord(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new HiveError("HIVE_EVAL_INVALID", `${what}: expected an attribute set`);
  return raw as Record<string, unknown>;
}

/** A hive, opened: its source, meta and node names. Everything else is evaluated on demand. */
export class Hive {
  private constructor(
    readonly source: HiveSource,
    readonly info: HiveInfo,
    private readonly query: EvaluatorQuery,
    /** hive.yaml beside the hive (or given by --inventory), when there is one. */
    readonly inventory: Inventory | undefined,
    private prefetched?: Prefetched | undefined,
    /** CPU time of the nix process that opened the hive: what any process pays before a node. */
    private readonly processCpuMs?: number | undefined,
  ) {}

  static async open(options: OpenHiveOptions): Promise<Hive> {
    const source = resolveHiveSource({ config: options.config, cwd: options.cwd });
    if (source.kind === "flake" && source.dir !== undefined) {
      const warning = await dirtyGitWarning(source.dir);
      if (warning !== undefined) options.onWarning?.(warning);
    }
    const query = new EvaluatorQuery(source, options.nix ?? {});
    const names = options.prefetch ?? [];
    let prefetched: Prefetched | undefined;
    if (names.length > 0) {
      const controller = new AbortController();
      options.signal?.addEventListener("abort", () => controller.abort(options.signal?.reason), { once: true });
      prefetched = {
        nodes: new Set(names),
        controller,
        result: query
          // The hive's own query below may write the flake's lock file (a flake without one, or
          // with an input added): Nix writes it in place, so a second writer could leave it empty
          // for the other to read ("JSON parse error" on a fresh flake).
          .runMeasured(`e.eval ${nixStringList(names)}`, { signal: controller.signal, readOnly: true })
          .catch(() => undefined),
      };
    }
    let opened: MeasuredResult;
    try {
      opened = await query.runMeasured("e.info", { signal: options.signal });
    } catch (error) {
      throw query.globalError(error);
    }
    const raw = opened.value;
    const info = parseHiveInfo(raw);
    const hiveDir = source.kind === "file" ? dirname(source.path) : source.dir;
    const inventory = Inventory.find(hiveDir, options.inventory);
    if (inventory !== undefined) {
      for (const warning of inventory.checkNodes(info.nodes)) options.onWarning?.(warning);
      info.meta = inventory.applyMeta(info.meta);
    }
    return new Hive(source, info, query, inventory, prefetched, opened.cpuMs);
  }

  /** The directory the hive lives in on this machine; undefined for a remote flake. */
  get localDirectory(): string | undefined {
    return this.source.kind === "file" ? dirname(this.source.path) : this.source.dir;
  }

  get nodes(): readonly NodeName[] {
    return this.info.nodes;
  }

  /** The nodes `--on` selects (all without a filter), fetching tags only when the filter needs them. */
  async select(given: NodeFilter | undefined, options: ChunkOptions = {}): Promise<NodeName[]> {
    let selected: NodeName[] = [];
    try {
      selected = await this.selectFrom(given, options);
      return selected;
    } finally {
      // What was evaluated ahead of the selection and is not selected stops now.
      this.dropPrefetched(selected);
    }
  }

  private async selectFrom(given: NodeFilter | undefined, options: ChunkOptions): Promise<NodeName[]> {
    const fragment = this.source.kind === "flake" ? this.source.node : undefined;
    if (fragment !== undefined && given !== undefined)
      throw new HiveError("HIVE_USAGE", `-f ...#${fragment} selects the node ${fragment}, and --on selects too`, {
        hint: "give one of them: -f REF#NODE for one node, or -f REF with --on",
      });
    if (fragment !== undefined && !this.nodes.some((n) => n === fragment))
      throw new HiveError(
        "HIVE_UNKNOWN_NODE",
        `-f ...#${fragment}: the flake has no node ${JSON.stringify(fragment)}`,
        {
          hint: `nodes: ${this.nodes.join(", ")}`,
        },
      );
    const filter = fragment !== undefined ? parseNodeFilter([fragment]) : given;
    if (filter === undefined || filter.items.length === 0) return [...this.nodes];
    if (!filter.needsTags)
      return selectNodes(
        filter,
        this.nodes.map((name) => ({ name })),
      );
    const tags = await this.tags(options);
    return selectNodes(
      filter,
      this.nodes.map((name) => ({ name, tags: tags.get(name) ?? [] })),
    );
  }

  /** Every node's deployment.tags. */
  async tags(options: ChunkOptions = {}): Promise<Map<NodeName, string[]>> {
    const tags = new Map<NodeName, string[]>();
    const failed: HiveError[] = [];
    await this.chunked(
      this.nodes,
      "tags",
      (node, raw) => {
        const record = asRecord(raw, `node ${node}`);
        const given = record["tags"];
        if (!Array.isArray(given) || !given.every((t) => typeof t === "string")) {
          throw new HiveError("HIVE_EVAL_INVALID", `node ${node}: deployment.tags is not a list of strings`);
        }
        return this.inventory?.tags(node, given, explicitFieldsOf(record)) ?? given;
      },
      (o) => (o.ok ? tags.set(o.node, o.value) : failed.push(o.error)),
      options,
    );
    const [first] = failed;
    if (first !== undefined) {
      throw new HiveError("HIVE_EVAL_FAILED", `cannot select nodes by tag: ${first.message}`, {
        hint: "select nodes by name to deploy the others, or fix the node",
      });
    }
    return tags;
  }

  /** Deployment configuration of nodes, each reported when its chunk is evaluated. */
  nodeConfigs(
    nodes: readonly NodeName[],
    onOutcome: (o: NodeOutcome<NodeConfig>) => void,
    options: ChunkOptions = {},
  ): Promise<void> {
    return this.chunked(
      nodes,
      "nodes",
      (node, raw) => ({ name: node, ...this.withInventory(node, parseDeployment(node, raw), raw) }),
      onOutcome,
      options,
    );
  }

  /** Deployment configuration and system derivation of nodes, streamed chunk by chunk. */
  evaluate(
    nodes: readonly NodeName[],
    onOutcome: (o: NodeOutcome<EvaluatedNode>) => void,
    options: ChunkOptions = {},
  ): Promise<void> {
    return this.chunked(
      nodes,
      "eval",
      (node, raw) => {
        const record = asRecord(raw, `node ${node}`);
        const { deployment, sources } = this.withInventory(
          node,
          parseDeployment(node, record["deployment"]),
          record["deployment"],
        );
        if (typeof record["drvPath"] !== "string" || typeof record["system"] !== "string")
          throw new HiveError("HIVE_EVAL_INVALID", `node ${node}: its system has no drvPath or out path`);
        return {
          name: node,
          deployment,
          ...(sources === undefined ? {} : { sources }),
          drvPath: parseDrvPath(record["drvPath"]),
          outPath: parseStorePath(record["system"]),
          buildSystem: typeof record["buildSystem"] === "string" ? record["buildSystem"] : "unknown",
        };
      },
      onOutcome,
      options,
    );
  }

  private readonly overrides = new Map<NodeName, Partial<Deployment>>();

  /** Settings the command line gives a node (`hive rebuild --target-host`): they win over everything. */
  override(node: NodeName, patch: Partial<Deployment>): void {
    this.overrides.set(node, { ...this.overrides.get(node), ...patch });
  }

  /** A node's deployment with hive.yaml filled in where the node did not set a field itself. */
  private withInventory(
    node: NodeName,
    deployment: Deployment,
    raw: unknown,
  ): { deployment: Deployment; sources?: Record<string, string> } {
    const applied: { deployment: Deployment; sources?: Record<string, string> } =
      this.inventory === undefined ? { deployment } : this.inventory.apply(node, deployment, explicitFieldsOf(raw));
    const patch = this.overrides.get(node);
    if (patch === undefined) return applied;
    const sources: Record<string, string> = { ...applied.sources };
    for (const field of Object.keys(patch)) sources[field] = "command line";
    return { deployment: { ...applied.deployment, ...patch }, sources };
  }

  /**
   * The speculative evaluation, when it covers this chunk and succeeded; used once. It stops with
   * the chunk's signal, as the chunk's own query would.
   */
  private async takePrefetched(
    chunk: readonly NodeName[],
    signal: AbortSignal | undefined,
  ): Promise<MeasuredResult | undefined> {
    const prefetched = this.prefetched;
    if (prefetched === undefined || !chunk.every((n) => prefetched.nodes.has(n))) return undefined;
    this.prefetched = undefined;
    const stop = () => prefetched.controller.abort(signal?.reason);
    signal?.addEventListener("abort", stop, { once: true });
    try {
      signal?.throwIfAborted();
      const result = await prefetched.result;
      signal?.throwIfAborted();
      return result;
    } finally {
      signal?.removeEventListener("abort", stop);
    }
  }

  /** The speculative evaluation is not wanted (another selection): its nix process stops. */
  private dropPrefetched(selected: readonly NodeName[]): void {
    const prefetched = this.prefetched;
    // (A selection that failed selected nothing: the evaluation stops too.)
    if (prefetched === undefined || (selected.length > 0 && selected.every((n) => prefetched.nodes.has(n)))) return;
    this.prefetched = undefined;
    prefetched.controller.abort();
  }

  private chunked<T>(
    nodes: readonly NodeName[],
    queryName: "tags" | "nodes" | "eval",
    parse: (node: NodeName, raw: unknown) => T,
    onOutcome: (o: NodeOutcome<T>) => void,
    options: ChunkOptions,
  ): Promise<void> {
    const limits = { processCpuMs: this.processCpuMs, ...(options.limits ?? resolveEvalLimits("auto", nodes.length)) };
    return evaluateInChunks(
      nodes,
      limits,
      async (chunk, signal) => {
        const { value, allocatedBytes, cpuMs } =
          (queryName === "eval" ? await this.takePrefetched(chunk, signal) : undefined) ??
          (await this.query.runMeasured(`e.${queryName} ${nixStringList(chunk)}`, { signal }));
        const raw = asRecord(value, queryName);
        const values = new Map<NodeName, T>();
        const invalid = new Map<NodeName, HiveError>();
        for (const node of chunk) {
          try {
            values.set(node, parse(node, raw[node]));
          } catch (error) {
            if (!(error instanceof HiveError)) throw error;
            invalid.set(node, error);
          }
        }
        return { values, invalid, allocatedBytes, cpuMs };
      },
      onOutcome,
      { signal: options.signal, onChunk: options.onChunk },
    );
  }

  /** The contents of a node's `text` keys, for uploading them (never log or print them). */
  async keyTexts(node: NodeName, options: { signal?: AbortSignal } = {}): Promise<Map<string, string>> {
    const raw = asRecord(
      await this.query.run(`e.keyTexts ${nixString(node)}`, { signal: options.signal }),
      `keys of ${node}`,
    );
    const texts = new Map<string, string>();
    for (const [key, value] of Object.entries(raw)) {
      if (typeof value !== "string") throw new HiveError("HIVE_EVAL_INVALID", `node ${node}: key ${key} has no text`);
      texts.set(key, value);
    }
    return texts;
  }

  /**
   * `hive eval`: applies a function of `{ nodes, pkgs, lib }` to the hive and returns its JSON;
   * with `instantiate`, the derivation paths of what it returns (a derivation, list or set of them).
   */
  async introspect(
    expression: IntrospectionExpression,
    options: { instantiate?: boolean; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const fn = "file" in expression ? `(import ${nixString(expression.file)})` : `(${expression.text})`;
    const applied = `(e.introspect ${fn})`;
    const body = options.instantiate
      ? `let r = ${applied}; drv = d: if (d.type or null) == "derivation" then d.drvPath else throw "hive eval --instantiate: the expression must return derivations"; in if builtins.isList r then map drv r else if builtins.isAttrs r && (r.type or null) != "derivation" then builtins.mapAttrs (_: drv) r else drv r`
      : applied;
    try {
      return await this.query.run(body, { signal: options.signal, impure: "file" in expression });
    } catch (error) {
      throw this.query.globalError(error);
    }
  }

  /** The Nix expression `hive repl` loads (an attribute set with nodes, pkgs and lib). */
  async replExpression(signal?: AbortSignal): Promise<string> {
    try {
      return `(${await this.query.replExpression(signal)}).introspect (x: x)`;
    } catch (error) {
      throw this.query.globalError(error);
    }
  }
}
