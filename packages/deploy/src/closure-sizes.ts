import { HiveError, type NodeName, type Transport } from "@hive/core";
import type { SizedPath } from "./closure-diff.js";

// The closure of $1 and each path's NAR size, from the store the transport reaches.
const CLOSURE = `
set -e
paths=$(nix-store --query --requisites "$1")
printf '%s\\n' "$paths"
echo ---
nix-store --query --size $paths
`;

/** A closure with sizes, from a target's store (this machine's own is closureOf in @hive/nix). */
export async function closureWithSizes(
  transport: Transport,
  node: NodeName,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<SizedPath[]> {
  const result = await transport.exec(["sh", "-c", CLOSURE, "hive-closure", path], { privileged: true, ...options });
  const [paths = "", sizes = ""] = result.stdout.split("\n---\n");
  const p = paths.split("\n").filter((l) => l !== "");
  const s = sizes.split("\n").filter((l) => l !== "");
  if (result.exitCode !== 0 || p.length !== s.length)
    throw new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${node}: diff: reading the closure of ${path} on ${transport.description} failed:\n${result.stderr.trim()}`,
    );
  return p.map((path, i) => ({ path, size: Number(s[i]) }));
}
