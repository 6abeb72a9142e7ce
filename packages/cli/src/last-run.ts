import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { HiveError, type NodeFilter, type NodeResult } from "@hive/core";

/** Outcomes `--on @failed` (and the others) select by: each node's in the last run from here. */
const OUTCOME_TAGS = ["failed", "succeeded", "unchanged", "skipped"] as const;

/** Where the last run of a hive (by its directory) keeps each node's outcome. */
function lastRunFile(hiveDir: string): string {
  const state = process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state");
  const id = createHash("sha256").update(hiveDir).digest("hex").slice(0, 16);
  return join(state, "hive", "last-run", `${id}.json`);
}

/** Remembers each node's outcome of a run, for `--on @failed` next time. */
export async function recordLastRun(hiveDir: string, run: string, results: readonly NodeResult[]): Promise<void> {
  const file = lastRunFile(hiveDir);
  try {
    await mkdir(dirname(file), { recursive: true });
    const outcomes = Object.fromEntries(results.map((r) => [r.node, r.outcome]));
    await writeFile(file, `${JSON.stringify({ run, time: new Date().toISOString(), hive: hiveDir, outcomes })}\n`);
  } catch {
    // Not remembering is no reason to fail a deploy.
  }
}

async function lastOutcomes(hiveDir: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(lastRunFile(hiveDir), "utf8")) as { outcomes?: Record<string, string> };
    return parsed.outcomes ?? {};
  } catch {
    throw new HiveError(
      "HIVE_USAGE",
      "--on @failed (and @succeeded, @unchanged, @skipped) needs a previous run of this hive from this machine, and there is none",
      {
        hint: "run hive apply first; its outcomes are kept for the next run",
      },
    );
  }
}

/**
 * `@failed`, `@succeeded`, `@unchanged` and `@skipped` in `--on` select nodes by their outcome in
 * the last run of this hive from this machine (those names are not read as tags).
 */
export async function withOutcomeSelectors(
  filter: NodeFilter | undefined,
  hiveDir: string,
): Promise<NodeFilter | undefined> {
  const isOutcome = (text: string) => (OUTCOME_TAGS as readonly string[]).includes(text.replace(/^!?@/, ""));
  if (filter === undefined || !filter.items.some((i) => i.kind === "tag" && isOutcome(i.text))) return filter;
  const outcomes = await lastOutcomes(hiveDir);
  const items = filter.items.map((item) => {
    if (item.kind !== "tag" || !isOutcome(item.text)) return item;
    const wanted = item.text.replace(/^!?@/, "");
    const nodes = new Set(
      Object.entries(outcomes)
        .filter(([, o]) => o === wanted)
        .map(([n]) => n),
    );
    if (nodes.size === 0 && !item.exclude)
      throw new HiveError(
        "HIVE_NO_NODES_SELECTED",
        `--on ${item.text}: no node ${wanted === "failed" ? "failed" : `was ${wanted}`} in the last run of this hive`,
        {
          hint: "hive apply with --on @failed retries only what failed last time",
        },
      );
    return { ...item, kind: "name" as const, matches: (name: string) => nodes.has(name) };
  });
  return { items, needsTags: items.some((i) => i.kind === "tag") };
}
