import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { HiveError } from "@hive/core";

/** Where a hive comes from: a flake (by reference) or a plain hive.nix file. */
export type HiveSource =
  /** `node`: the fragment of `-f REF#NODE` (as nixos-rebuild's `--flake .#host`), the node to select. */
  { kind: "flake"; ref: string; dir: string | undefined; node?: string } | { kind: "file"; path: string };

const FLAKE_URI = /^[a-z][a-z0-9+.-]*:/;

function fromDirectory(dir: string): HiveSource | undefined {
  if (existsSync(join(dir, "flake.nix"))) return { kind: "flake", ref: dir, dir };
  if (existsSync(join(dir, "hive.nix"))) return { kind: "file", path: join(dir, "hive.nix") };
  return undefined;
}

/**
 * Finds the hive as Colmena does: `-f` may name a hive.nix, a flake.nix, a directory or a flake
 * URI; without it, each directory from `cwd` upward is searched for flake.nix, then hive.nix.
 */
export function resolveHiveSource({ config, cwd }: { config?: string | undefined; cwd: string }): HiveSource {
  if (config === undefined) {
    for (let dir = resolve(cwd); ; dir = dirname(dir)) {
      const found = fromDirectory(dir);
      if (found) return found;
      if (dirname(dir) === dir) break;
    }
    throw new HiveError(
      "HIVE_HIVE_NOT_FOUND",
      `no flake.nix or hive.nix in ${resolve(cwd)} or any directory above it`,
      {
        hint: "run hive inside your hive's directory, or point at it with -f PATH (a hive.nix, flake.nix, directory or flake URI)",
      },
    );
  }
  const path = resolve(cwd, config);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      const found = fromDirectory(path);
      if (found) return found;
      throw new HiveError("HIVE_HIVE_NOT_FOUND", `${path} holds neither a flake.nix nor a hive.nix`);
    }
    if (basename(path) === "flake.nix") return { kind: "flake", ref: dirname(path), dir: dirname(path) };
    return { kind: "file", path };
  }
  if (FLAKE_URI.test(config) && !config.includes("#")) return { kind: "flake", ref: config, dir: undefined };
  // REF#NODE: a flake and the one node to select, as `nixos-rebuild --flake .#host` says it.
  const at = config.lastIndexOf("#");
  if (at > 0 && at < config.length - 1) {
    const source = resolveHiveSource({ config: config.slice(0, at), cwd });
    if (source.kind === "flake") return { ...source, node: config.slice(at + 1) };
  }
  throw new HiveError("HIVE_HIVE_NOT_FOUND", `${path} does not exist`, {
    hint: "-f takes a hive.nix, a flake.nix, a directory holding one of them, or a flake URI such as github:owner/repo",
  });
}

export function describeSource(source: HiveSource): string {
  return source.kind === "file" ? source.path : `flake ${source.ref}`;
}
