import { EXIT } from "./exit-codes.js";

/** The oldest Node hive runs on (package.json's engines). */
export const MINIMUM_NODE = [20, 19] as const;

export function nodeIsRecentEnough(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map((p) => Number.parseInt(p, 10));
  return major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
}

// Imported first by main: on an older Node, one clear line instead of a stack trace from deep
// inside a dependency.
if (!nodeIsRecentEnough()) {
  process.stderr.write(
    `hive: needs Node ${MINIMUM_NODE.join(".")} or newer; this is Node ${process.versions.node}\n  hint: install a newer Node (https://nodejs.org), then run hive again\n`,
  );
  process.exit(EXIT.hive);
}
