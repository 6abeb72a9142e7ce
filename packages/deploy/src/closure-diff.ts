/** A store path in a closure, with its NAR size. */
export interface SizedPath {
  path: string;
  size: number;
}

export type PackageChangeKind = "added" | "removed" | "upgraded" | "downgraded";

export interface PackageChange {
  kind: PackageChangeKind;
  name: string;
  /** Versions before and after ("" for a path without a version). */
  from: string[];
  to: string[];
}

export interface ClosureDiff {
  changes: PackageChange[];
  /** Paths only in the new closure / only in the old one. */
  pathsAdded: number;
  pathsRemoved: number;
  /** Same name and version, new hash (a dependency or its build changed). */
  rebuilt: number;
  oldSize: number;
  newSize: number;
}

/** Splits a store path's name into name and version, as Nix's builtins.parseDrvName does. */
export function parseName(path: string): { name: string; version: string } {
  const full = /^\/nix\/store\/[0-9a-z]{32}-(.*)$/.exec(path)?.[1] ?? path;
  const at = /-(?![a-zA-Z])/.exec(full)?.index;
  return at === undefined ? { name: full, version: "" } : { name: full.slice(0, at), version: full.slice(at + 1) };
}

function components(version: string): string[] {
  return version.match(/\d+|[a-zA-Z]+/g) ?? [];
}

function componentLess(x: string, y: string): boolean {
  const nx = /^\d+$/.test(x);
  const ny = /^\d+$/.test(y);
  if (nx && ny) return Number(x) < Number(y);
  if (x === "" && ny) return true;
  if (x === "pre" && y !== "pre") return true;
  if (y === "pre") return false;
  if (ny) return true; // 2.3a < 2.3.1
  if (nx) return false;
  return x < y;
}

/** Nix's builtins.compareVersions: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const ca = components(a);
  const cb = components(b);
  for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
    const x = ca[i] ?? "";
    const y = cb[i] ?? "";
    if (x === y) continue;
    if (componentLess(x, y)) return -1;
    if (componentLess(y, x)) return 1;
  }
  return 0;
}

function byName(paths: readonly SizedPath[]): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const { path } of paths) {
    const { name, version } = parseName(path);
    const versions = names.get(name) ?? [];
    if (!versions.includes(version)) versions.push(version);
    names.set(name, versions);
  }
  for (const versions of names.values()) versions.sort(compareVersions);
  return names;
}

/** What changes between two closures: packages by name and version, path counts and sizes. */
export function diffClosures(before: readonly SizedPath[], after: readonly SizedPath[]): ClosureDiff {
  const oldPaths = new Set(before.map((p) => p.path));
  const newPaths = new Set(after.map((p) => p.path));
  const oldNames = byName(before);
  const newNames = byName(after);
  const changes: PackageChange[] = [];
  for (const name of new Set([...oldNames.keys(), ...newNames.keys()])) {
    const from = oldNames.get(name) ?? [];
    const to = newNames.get(name) ?? [];
    if (from.length === 0) changes.push({ kind: "added", name, from, to });
    else if (to.length === 0) changes.push({ kind: "removed", name, from, to });
    else if (from.join(" ") !== to.join(" ")) {
      const newest = (v: string[]) => v.at(-1) ?? "";
      changes.push({ kind: compareVersions(newest(to), newest(from)) < 0 ? "downgraded" : "upgraded", name, from, to });
    }
  }
  changes.sort((a, b) => a.name.localeCompare(b.name));
  const versionChanged = new Set(changes.map((c) => c.name));
  const rebuilt = after.filter((p) => !oldPaths.has(p.path) && !versionChanged.has(parseName(p.path).name)).length;
  const sum = (paths: readonly SizedPath[]) => paths.reduce((n, p) => n + p.size, 0);
  return {
    changes,
    pathsAdded: after.filter((p) => !oldPaths.has(p.path)).length,
    pathsRemoved: before.filter((p) => !newPaths.has(p.path)).length,
    rebuilt,
    oldSize: sum(before),
    newSize: sum(after),
  };
}

/** A change as one line: "nginx 1.24.0 -> 1.25.3", "+ htop 3.2.2", "- vim 9.0.2048". */
export function describeChange(change: PackageChange): string {
  const versions = (v: string[]) => v.filter((x) => x !== "").join(", ");
  switch (change.kind) {
    case "added":
      return `+ ${change.name} ${versions(change.to)}`.trimEnd();
    case "removed":
      return `- ${change.name} ${versions(change.from)}`.trimEnd();
    default:
      return `${change.name} ${versions(change.from)} -> ${versions(change.to)}`;
  }
}

/** The same change on many nodes, said once: [{ change: "nginx 1.24.0 -> 1.25.3", nodes: [...] }]. */
export function groupChanges(diffs: ReadonlyMap<string, ClosureDiff>): { change: string; nodes: string[] }[] {
  const groups = new Map<string, { name: string; nodes: string[] }>();
  for (const [node, diff] of diffs) {
    for (const change of diff.changes) {
      const line = describeChange(change);
      const group = groups.get(line) ?? { name: change.name, nodes: [] };
      group.nodes.push(node);
      groups.set(line, group);
    }
  }
  // The changes most nodes share first; then by package name.
  return [...groups.entries()]
    .sort(([, a], [, b]) => b.nodes.length - a.nodes.length || a.name.localeCompare(b.name))
    .map(([change, { nodes }]) => ({ change, nodes }));
}
