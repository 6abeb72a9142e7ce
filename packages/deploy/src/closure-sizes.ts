import { HiveError } from "@hive/core";
import type { Host } from "./host.js";
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
export async function closureWithSizes(host: Host, path: string): Promise<SizedPath[]> {
  const result = await host.exec(["sh", "-c", CLOSURE, "hive-closure", path], { privileged: true });
  const [paths = "", sizes = ""] = result.stdout.split("\n---\n");
  const p = paths.split("\n").filter((l) => l !== "");
  const s = sizes.split("\n").filter((l) => l !== "");
  if (result.exitCode !== 0 || p.length !== s.length)
    throw new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${host.node}: diff: reading the closure of ${path} on ${host.description} failed:\n${result.stderr.trim()}`,
    );
  return p.map((path, i) => ({ path, size: Number(s[i]) }));
}
