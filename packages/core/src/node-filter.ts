import picomatch from "picomatch";
import { HiveError } from "./errors.js";
import type { NodeName } from "./ids.js";

/** One item of `--on`: a node-name or @tag glob, possibly negated with `!`. */
export interface FilterItem {
  text: string;
  exclude: boolean;
  kind: "name" | "tag";
  matches: (value: string) => boolean;
}

export interface NodeFilter {
  items: readonly FilterItem[];
  /** Whether matching needs every node's tags (so evaluation must fetch them). */
  needsTags: boolean;
}

/**
 * Parses `--on` values: comma-separated node-name globs and `@tag` globs, OR'd together; `!x`
 * excludes. Several `--on` flags add up.
 */
export function parseNodeFilter(values: readonly string[]): NodeFilter {
  const items: FilterItem[] = [];
  for (const value of values) {
    for (const raw of value.split(",")) {
      const text = raw.trim();
      const exclude = text.startsWith("!");
      const body = exclude ? text.slice(1) : text;
      const kind = body.startsWith("@") ? "tag" : "name";
      const pattern = kind === "tag" ? body.slice(1) : body;
      if (pattern === "") {
        throw new HiveError("HIVE_USAGE", `--on ${JSON.stringify(value)} has an empty item`, {
          hint: "separate node names, globs and @tags with single commas, e.g. --on 'web-*,@db,!web-3'",
        });
      }
      items.push({ text, exclude, kind, matches: picomatch(pattern, { dot: true }) });
    }
  }
  return { items, needsTags: items.some((i) => i.kind === "tag") };
}

/** Attributes of a hive that are never nodes. */
export const RESERVED_NAMES: readonly string[] = ["meta", "network", "defaults"];

export interface SelectableNode {
  name: NodeName;
  tags?: readonly string[];
}

/**
 * The nodes a filter selects, in the order given. With only exclusions, everything else is
 * selected. A pattern that matches no node at all is an error: a typo must not silently deploy
 * (or spare) the wrong machines.
 */
export function selectNodes(filter: NodeFilter, nodes: readonly SelectableNode[]): NodeName[] {
  const hits = (item: FilterItem, node: SelectableNode): boolean => {
    if (item.kind === "name") return item.matches(node.name);
    if (node.tags === undefined) throw new Error(`selecting by tag needs the tags of ${node.name}`);
    return node.tags.some((t) => item.matches(t));
  };
  const unmatched = filter.items.filter((item) => !nodes.some((node) => hits(item, node)));
  const reserved = unmatched.find(
    (item) => item.kind === "name" && RESERVED_NAMES.includes(item.text.replace(/^!/, "")),
  );
  if (reserved !== undefined) {
    throw new HiveError(
      "HIVE_UNKNOWN_NODE",
      `--on ${JSON.stringify(reserved.text)}: ${reserved.text.replace(/^!/, "")} is not a node`,
      {
        hint: "meta (or network) holds the hive's settings and defaults what every node shares; they are never nodes",
      },
    );
  }
  if (unmatched.length > 0) {
    const tags = [...new Set(nodes.flatMap((n) => n.tags ?? []))].sort();
    throw new HiveError(
      "HIVE_UNKNOWN_NODE",
      `--on ${unmatched.map((i) => JSON.stringify(i.text)).join(", ")} matches no node`,
      {
        hint: `nodes: ${nodes.map((n) => n.name).join(", ") || "(none)"}${tags.length > 0 ? `; tags: ${tags.map((t) => `@${t}`).join(", ")}` : ""}`,
      },
    );
  }
  const includes = filter.items.filter((i) => !i.exclude);
  const excludes = filter.items.filter((i) => i.exclude);
  return nodes
    .filter((node) => includes.length === 0 || includes.some((item) => hits(item, node)))
    .filter((node) => !excludes.some((item) => hits(item, node)))
    .map((node) => node.name);
}

/** `meta.allowApplyAll = false` means a deploy must say which nodes it is for. */
export function requireExplicitSelection(allowApplyAll: boolean, filter: NodeFilter | undefined): void {
  if (!allowApplyAll && (filter === undefined || filter.items.length === 0)) {
    throw new HiveError("HIVE_USAGE", "this hive sets meta.allowApplyAll = false: name the nodes to deploy with --on", {
      hint: "e.g. --on web-1 or --on @web",
    });
  }
}
