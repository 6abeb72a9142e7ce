import { HiveError } from "./errors.js";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A node of the hive, as named in the hive file. */
export type NodeName = Brand<string, "NodeName">;
/** An absolute path in the Nix store: /nix/store/<32-char hash>-<name>, optionally with a subpath. */
export type StorePath = Brand<string, "StorePath">;

// Colmena accepts any attribute name as a node; hive refuses what cannot be a host name or a
// path component, so node names never need escaping in file names and logs.
const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/;

export function parseNodeName(raw: string): NodeName {
  if (!NODE_NAME.test(raw) || raw === "." || raw === "..") {
    throw new HiveError("HIVE_INVALID_NODE_NAME", `invalid node name ${JSON.stringify(raw)}`, {
      hint: "node names may hold letters, digits, '_', '-' and '.', and must not start with '-' or '.'",
    });
  }
  return raw as NodeName;
}

export function parseStorePath(raw: string): StorePath {
  if (!STORE_PATH.test(raw)) {
    throw new HiveError("HIVE_INVALID_STORE_PATH", `not a Nix store path: ${JSON.stringify(raw)}`);
  }
  return raw as StorePath;
}

/** A derivation in the Nix store: a store path ending in `.drv`. */
export type DrvPath = Brand<string, "DrvPath">;

export function parseDrvPath(raw: string): DrvPath {
  if (!raw.endsWith(".drv"))
    throw new HiveError("HIVE_INVALID_STORE_PATH", `not a derivation path: ${JSON.stringify(raw)}`);
  parseStorePath(raw);
  return raw as DrvPath;
}
