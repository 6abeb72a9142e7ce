import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { miniNixpkgsPath } from "./assets.js";

export interface PayloadHiveOptions {
  /** Paths of random bytes every node has (the hive's defaults). */
  shared: { paths: number; bytes: number };
  /** Paths of random bytes each node has of its own. */
  perHost: { paths: number; bytes: number };
  /** The same seed makes the same paths. */
  seed: string;
  /** More of a node's module (Nix attributes). */
  nodeExtra?: (name: string) => string;
  /** How the temporary directory's name starts. */
  prefix?: string;
}

/**
 * A hive.nix on the mini nixpkgs in a new temporary directory, whose nodes share `shared` paths
 * beside `perHost` paths of their own, as real fleets look; returns the directory.
 */
export async function writePayloadHive(names: readonly string[], options: PayloadHiveOptions): Promise<string> {
  const { shared, perHost, seed, nodeExtra = () => "" } = options;
  const dir = await mkdtemp(join(tmpdir(), options.prefix ?? "hive-payload-"));
  const nodes = names.map(
    (name) =>
      `  ${name} = { networking.hostName = "${name}"; testbed.hostPayload = { paths = ${perHost.paths}; bytes = ${perHost.bytes}; seed = "${seed}-${name}"; }; ${nodeExtra(name)} };`,
  );
  await writeFile(
    join(dir, "hive.nix"),
    `{
  meta.nixpkgs = import ${miniNixpkgsPath} { system = "x86_64-linux"; };
  defaults = { testbed.payload = { paths = ${shared.paths}; bytes = ${shared.bytes}; seed = "${seed}-shared"; }; };
${nodes.join("\n")}
}
`,
  );
  return dir;
}
