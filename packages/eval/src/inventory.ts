import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import picomatch from "picomatch";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { HiveError, type Deployment, type HealthCheck, type HiveMeta, type NodeKey, type NodeName } from "@hive/core";
import {
  INVENTORY_FIELDS,
  inventorySchema,
  type HealthCheckEntry,
  type InventoryData,
  type InventoryField,
  type KeyEntry,
  type NodeEntry,
} from "./inventory-schema.js";

/** The file hive reads beside a hive's flake.nix or hive.nix. */
export const INVENTORY_FILE = "hive.yaml";

/** Who set a deployment field: the node itself, a line of the inventory, or the default. */
export type FieldSources = Record<string, string>;

interface Layer {
  entry: NodeEntry;
  /** The entry's key path in the document, for locating its fields. */
  path: readonly string[];
  matches: (node: NodeName) => boolean;
}

const GLOB = /[*?[\]{}!()+@]/;

function keyFrom(entry: KeyEntry, name: string, baseDir: string): NodeKey {
  const destDir = entry.destDir ?? "/run/keys";
  const source: NodeKey["source"] =
    entry.keyFile !== undefined
      ? { kind: "file", path: isAbsolute(entry.keyFile) ? entry.keyFile : resolve(baseDir, entry.keyFile) }
      : { kind: "command", argv: entry.keyCommand ?? [] };
  return {
    name,
    source,
    destDir,
    path: `${destDir.replace(/\/+$/, "")}/${name}`,
    user: entry.user ?? "root",
    group: entry.group ?? "root",
    permissions: entry.permissions ?? "0600",
    uploadAt: entry.uploadAt ?? "pre-activation",
  };
}

function healthCheckFrom(c: HealthCheckEntry): HealthCheck {
  return {
    name: c.name,
    cmd: c.cmd ?? null,
    http: c.http ?? null,
    from: c.from ?? "deployer",
    status: c.status ?? 200,
    body: c.body ?? null,
    timeout: c.timeout ?? 10,
    retries: c.retries ?? 3,
    interval: c.interval ?? 2,
    initialDelay: c.initialDelay ?? 0,
  };
}

/**
 * `hive.yaml`: deployment settings beside the hive, for every node (`defaults`), for node-name
 * patterns and for single nodes (later and more specific entries win, field by field). A node's
 * own `deployment.*` always wins over it.
 */
export class Inventory {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly layers: readonly Layer[],
    private readonly rollout: InventoryData["rollout"],
    private readonly viaCache: InventoryData["viaCache"],
  ) {}

  /** The inventory beside a hive (or at `explicitPath`); undefined when there is none. */
  static find(hiveDir: string | undefined, explicitPath: string | undefined): Inventory | undefined {
    if (explicitPath !== undefined) {
      if (!existsSync(explicitPath))
        throw new HiveError("HIVE_INVENTORY_INVALID", `${explicitPath}: no such file`, {
          hint: "--inventory names a hive.yaml file",
        });
      return Inventory.load(explicitPath);
    }
    if (hiveDir === undefined) return undefined;
    const path = resolve(hiveDir, INVENTORY_FILE);
    return existsSync(path) ? Inventory.load(path) : undefined;
  }

  static load(path: string): Inventory {
    const text = readFileSync(path, "utf8");
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const [syntax] = doc.errors;
    if (syntax !== undefined) {
      const at = lines.linePos(syntax.pos[0]);
      throw new HiveError("HIVE_INVENTORY_INVALID", `${path}:${at.line}: ${syntax.message.split("\n")[0] ?? ""}`, {
        hint: "hive.yaml must be valid YAML",
      });
    }
    const raw: unknown = doc.toJS() ?? {};
    const parsed = inventorySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path0 = (issue?.path ?? []).map(String);
      const unknownKey = issue?.code === "unrecognized_keys" ? issue.keys[0] : undefined;
      const where = unknownKey === undefined ? path0 : [...path0, unknownKey];
      const message = unknownKey === undefined ? (issue?.message ?? "invalid") : "unknown field";
      throw new HiveError(
        "HIVE_INVENTORY_INVALID",
        `${path}:${lineOf(doc, lines, where)}: ${describePath(where)}: ${message}`,
        {
          hint:
            unknownKey === undefined
              ? hintFor(where)
              : `fields are Colmena's deployment.* names: ${INVENTORY_FIELDS.join(", ")}, keys`,
        },
      );
    }
    const data = parsed.data;
    const layers: Layer[] = [];
    if (data.defaults !== undefined) layers.push({ entry: data.defaults, path: ["defaults"], matches: () => true });
    const entries = Object.entries(data.nodes ?? {});
    // Patterns first (in file order), then exact names: the more specific entry wins.
    for (const [pattern, entry] of entries.filter(([p]) => GLOB.test(p)))
      layers.push({ entry, path: ["nodes", pattern], matches: picomatch(pattern, { dot: true }) });
    for (const [name, entry] of entries.filter(([p]) => !GLOB.test(p)))
      layers.push({ entry, path: ["nodes", name], matches: (node) => node === name });
    return new Inventory(path, doc, lines, layers, data.rollout, data.viaCache);
  }

  /** `FILE:LINE` of a key path. */
  private at(path: readonly string[]): string {
    return `${this.file}:${lineOf(this.doc, this.lines, path)}`;
  }

  /** Every single node the inventory names must be one of the hive's: a typo must not go unnoticed. */
  checkNodes(nodes: readonly NodeName[]): string[] {
    const known = new Set<string>(nodes);
    const warnings: string[] = [];
    for (const layer of this.layers) {
      const [section, name] = layer.path;
      if (section !== "nodes" || name === undefined) continue;
      if (!GLOB.test(name) && !known.has(name))
        throw new HiveError(
          "HIVE_INVENTORY_INVALID",
          `${this.at(layer.path)}: nodes.${name}: the hive has no node ${JSON.stringify(name)}`,
          { hint: `nodes: ${nodes.join(", ")}` },
        );
      if (GLOB.test(name) && !nodes.some(layer.matches))
        warnings.push(`${this.at(layer.path)}: the pattern nodes.${name} matches no node of the hive`);
    }
    return warnings;
  }

  /** The node's deployment with the inventory filled in where the node did not set a field itself. */
  apply(
    node: NodeName,
    deployment: Deployment,
    setByNode: ReadonlySet<string>,
  ): { deployment: Deployment; sources: FieldSources } {
    const result: Deployment = { ...deployment, keys: { ...deployment.keys } };
    const sources: FieldSources = {};
    const layers = this.layers.filter((l) => l.matches(node));
    for (const field of INVENTORY_FIELDS) {
      if (setByNode.has(field)) {
        sources[field] = "node";
        continue;
      }
      const layer = layers.findLast((l) => l.entry[field] !== undefined);
      if (layer === undefined) continue;
      setField(result, field, layer.entry);
      sources[field] = this.shortAt([...layer.path, field]);
    }
    for (const name of Object.keys(deployment.keys)) sources[`keys.${name}`] = "node";
    for (const layer of layers) {
      for (const [name, entry] of Object.entries(layer.entry.keys ?? {})) {
        if (deployment.keys[name] !== undefined) continue;
        result.keys[name] = keyFrom(entry, name, dirname(this.file));
        sources[`keys.${name}`] = this.shortAt([...layer.path, "keys", name]);
      }
    }
    return { deployment: result, sources };
  }

  /** The node's tags, as apply would give them (what selecting by tag needs, alone). */
  tags(node: NodeName, given: string[], setByNode: ReadonlySet<string>): string[] {
    if (setByNode.has("tags")) return given;
    return this.layers.findLast((l) => l.matches(node) && l.entry.tags !== undefined)?.entry.tags ?? given;
  }

  private shortAt(path: readonly string[]): string {
    return `${basename(this.file)}:${lineOf(this.doc, this.lines, path)}`;
  }

  /**
   * The hive's meta with the inventory's: its `rollout` where the hive's meta left a field unset,
   * and its `viaCache` where the hive's meta has none.
   */
  applyMeta(meta: HiveMeta): HiveMeta {
    const c = this.viaCache;
    const withCache: HiveMeta =
      c === undefined || (meta.viaCache ?? null) !== null
        ? meta
        : { ...meta, viaCache: { url: c.url, publicKey: c.publicKey ?? null, substituter: c.substituter ?? null } };
    return this.applyRollout(withCache);
  }

  private applyRollout(meta: HiveMeta): HiveMeta {
    const r = this.rollout;
    if (r === undefined) return meta;
    const given = meta.rollout;
    const str = (v: string | number | undefined): string | null => (v === undefined ? null : String(v));
    return {
      ...meta,
      rollout: {
        canary: given?.canary ?? str(r.canary),
        waves: given?.waves ?? str(r.waves),
        maxFailures: given?.maxFailures ?? str(r.maxFailures),
        soak: given?.soak ?? str(r.soak),
        rollbackOnHalt: (given?.rollbackOnHalt ?? false) || (r.rollbackOnHalt ?? false),
      },
    };
  }
}

function setField(d: Deployment, field: InventoryField, entry: NodeEntry): void {
  if (field === "healthChecks") {
    d.healthChecks = (entry.healthChecks ?? []).map(healthCheckFrom);
    return;
  }
  if (field === "fanOut") {
    const f = entry.fanOut;
    d.fanOut = f == null ? null : { address: f.address, port: f.port ?? 22, group: f.group ?? "default" };
    return;
  }
  const value = entry[field];
  if (value !== undefined) (d as Record<InventoryField, unknown>)[field] = value;
}

/** The line of a key path: the key itself when it exists, else the nearest parent's; else 1. */
function lineOf(doc: Document, lines: LineCounter, path: readonly string[]): number {
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    if (!isMap(parent)) continue;
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path[n - 1]);
    if (pair && isScalar(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
  }
  return 1;
}

function describePath(path: readonly string[]): string {
  return path.length === 0 ? "(top level)" : path.join(".");
}

function hintFor(path: readonly string[]): string {
  if (path.length === 0) return "hive.yaml holds defaults:, nodes:, rollout: and viaCache:";
  if (path[0] === "nodes" && path.length === 2) return "each node (or pattern) under nodes: holds deployment fields";
  return "fields take the types of Colmena's deployment.* options";
}

/** Which inventory fields the evaluator says the node set itself. */
export function explicitFieldsOf(raw: unknown): Set<string> {
  const list = typeof raw === "object" && raw !== null ? (raw as { explicit?: unknown }).explicit : undefined;
  return new Set(Array.isArray(list) ? list.filter((f): f is string => typeof f === "string") : []);
}
