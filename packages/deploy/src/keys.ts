import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { HiveError, type NodeKey, type NodeName } from "@hive/core";
import type { Host } from "./host.js";

/**
 * Writes one key: a temporary file in the destination directory gets its owner and mode first,
 * then the content (from stdin: never argv), then it is renamed into place. Parameters are
 * positional arguments, so no name or path is ever parsed by the shell.
 */
const WRITE_KEY = `
set -eu
dir="$1"; dest="$2"; owner="$3"; group="$4"; mode="$5"
# Directories hive creates are 0750, as NixOS's /run/keys: other users cannot list key names.
(umask 027 && mkdir -p "$dir")
tmp=$(mktemp "$dir/.hive-key.XXXXXXXX")
trap 'rm -f "$tmp"' EXIT
if ! chown "$owner:$group" "$tmp"; then
  echo "cannot give the key to $owner:$group (does the user exist yet? uploadAt = \\"post-activation\\" waits for the new system)" >&2
  exit 1
fi
chmod "$mode" "$tmp"
cat > "$tmp"
mv -f "$tmp" "$dest"
trap - EXIT
`;

/** Where a key's content comes from, resolved on this machine. */
export interface KeySources {
  /** The content of a `text` key (from evaluation). */
  text: (node: NodeName, key: string) => Promise<string>;
}

function runKeyCommand(node: NodeName, keyName: string, argv: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      reject(new HiveError("HIVE_KEY_FAILED", `node ${node}: keys: key ${keyName} has an empty keyCommand`));
      return;
    }
    execFile(file, args, { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      // The command's output and errors may hold the secret: only its exit status is reported.
      if (error) {
        const status =
          typeof error.code === "number"
            ? `exited with ${error.code}`
            : error.code === "ENOENT"
              ? "was not found"
              : "failed";
        reject(
          new HiveError("HIVE_KEY_FAILED", `node ${node}: keys: the keyCommand of key ${keyName} (${file}) ${status}`, {
            hint: "run it yourself to see why",
          }),
        );
      } else resolve(stdout);
    });
  });
}

export async function keyContent(node: NodeName, keyName: string, key: NodeKey, sources: KeySources): Promise<Buffer> {
  switch (key.source.kind) {
    case "text":
      return Buffer.from(await sources.text(node, keyName));
    case "file":
      try {
        return await readFile(key.source.path);
      } catch (error) {
        throw new HiveError(
          "HIVE_KEY_FAILED",
          `node ${node}: keys: cannot read keyFile of key ${keyName}: ${(error as NodeJS.ErrnoException).code ?? "error"} ${key.source.path}`,
          { cause: error },
        );
      }
    case "command":
      return runKeyCommand(node, keyName, key.source.argv);
  }
}

/** Uploads keys to a node, each atomically, owner and mode set before any content is written. */
export async function uploadKeys(host: Host, keys: readonly [string, NodeKey][], sources: KeySources): Promise<void> {
  for (const [name, key] of keys) {
    const content = await keyContent(host.node, name, key, sources);
    await host.run(
      "keys",
      ["sh", "-c", WRITE_KEY, "hive-write-key", key.destDir, key.path, key.user, key.group, key.permissions],
      { privileged: true, stdin: content },
    );
  }
}
