import { z } from "zod";
import { GOALS } from "@hive/core";
import type { Host } from "./host.js";
import { HIVE_STATE_DIR } from "./host-paths.js";

/** Where hive keeps each host's deploy history: one JSON record per line, readable by root only. */
export const HISTORY_FILE = `${HIVE_STATE_DIR}/history.jsonl`;
export const HISTORY_SCHEMA_VERSION = 1;

export const DeployRecordSchema = z.object({
  v: z.literal(HISTORY_SCHEMA_VERSION),
  time: z.string(),
  /** The run's id (as in the NDJSON events). */
  run: z.string().optional(),
  /** Who deployed, and from which machine. */
  user: z.string(),
  from: z.string(),
  goal: z.enum(GOALS),
  system: z.string(),
  /** The system profile's generation after the activation (switch, boot). */
  generation: z.number().int().optional(),
  /** The generation that was current before. */
  previousGeneration: z.number().int().optional(),
  git: z.object({ rev: z.string(), dirty: z.boolean() }).optional(),
  outcome: z.enum(["succeeded", "failed", "rolled-back"]),
  hiveVersion: z.string().optional(),
});
export type DeployRecord = z.infer<typeof DeployRecordSchema>;

/** What a deploy knows about itself, recorded on every host it activates. */
export type DeployOrigin = Pick<DeployRecord, "user" | "from" | "run" | "hiveVersion"> & {
  /** The hive's git state, asked while the run starts (it is needed only when a host's history is written). */
  git?: Promise<DeployRecord["git"]>;
};

// Appends stdin to the history file; the file is created root-only and stays so.
const APPEND = `
set -e
umask 077
mkdir -p "$(dirname "$1")"
cat >> "$1"
chmod 0600 "$1"
`;

/** Appends a record to a host's history. Never carries secrets: records hold paths and names only. */
export async function appendHistory(host: Host, record: DeployRecord): Promise<void> {
  // Written even when the run is aborted: the record says how the host was left.
  await host.run("activate", ["sh", "-c", APPEND, "hive-history", HISTORY_FILE], {
    privileged: true,
    stdin: `${JSON.stringify(DeployRecordSchema.parse(record))}\n`,
    signal: null,
  });
}

/** Parses history lines, skipping any that are not hive records (a torn or foreign line). */
export function parseHistory(text: string): DeployRecord[] {
  const records: DeployRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = DeployRecordSchema.safeParse(JSON.parse(line));
      if (parsed.success) records.push(parsed.data);
    } catch {
      // not JSON: skip it
    }
  }
  return records;
}
