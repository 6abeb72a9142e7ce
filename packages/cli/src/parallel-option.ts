import type { Options } from "yargs";

/** Parses -p/--parallel: a whole number of hosts at once; 0 means no limit (as in Colmena). */
export function parseParallel(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `--parallel takes a whole number of hosts (0: no limit), not ${Number.isNaN(n) ? "something else" : String(value)}`,
    );
  return n === 0 ? Number.POSITIVE_INFINITY : n;
}

/** The -p/--parallel option, with its default and what it limits. */
export function parallelOption(defaultValue: number, what: string): Options & { type: "number"; default: number } {
  return {
    alias: "p",
    type: "number",
    default: defaultValue,
    describe: `${what} at once (0: no limit)`,
    coerce: parseParallel,
  };
}
