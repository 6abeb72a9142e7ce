import { randomUUID } from "node:crypto";
import pino from "pino";
import type { DeployEvent, NodeResult } from "@hive/core";
import { NodeTimes } from "./node-times.js";

/** Version of the NDJSON event schema (documented in the README); bump it on any breaking change. */
export const EVENT_SCHEMA_VERSION = 1;

export interface JsonRenderer {
  readonly runId: string;
  onEvent: (event: DeployEvent) => void;
  /** The last line: counts, and each node's result (its message is in its node-done event). */
  summary: (
    results: readonly NodeResult[],
    durationMs: number,
    transfers?: { uplinkBytes: number; peerBytes: number },
  ) => void;
  flush: () => void;
}

/**
 * `--log-format json`: one JSON object per line on stdout (through pino), each with the schema
 * version, the run id, an ISO timestamp and the event's own fields. Messages never carry secrets:
 * key contents are not in events at all.
 */
export function jsonRenderer(
  destination: NodeJS.WritableStream = process.stdout,
  runId: string = randomUUID(),
): JsonRenderer {
  const logger = pino(
    {
      base: { v: EVENT_SCHEMA_VERSION, run: runId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: "message",
    },
    pino.destination({ dest: (destination as { fd?: number }).fd ?? 1, sync: true }),
  );
  const times = new NodeTimes();
  return {
    runId,
    onEvent: (event) => {
      times.onEvent(event);
      const durationMs = event.type === "node-done" ? times.durationMs(event.node) : undefined;
      const record = { ...event, ...(durationMs !== undefined ? { durationMs } : {}) };
      if (event.type === "warning") logger.warn(record);
      else if (event.type === "halt") logger.error(record);
      else if (event.type === "node-done" && event.outcome === "failed") logger.error(record);
      else logger.info(record);
    },
    summary: (results, durationMs, transfers) => {
      const nodes = results.map((r) => {
        const row: Partial<NodeResult> = { ...r };
        delete row.message;
        return row;
      });
      const count = (outcome: string) => nodes.filter((n) => n.outcome === outcome).length;
      logger.info({
        type: "summary",
        durationMs,
        succeeded: count("succeeded"),
        unchanged: count("unchanged"),
        failed: count("failed"),
        skipped: count("skipped"),
        ...transfers,
        nodes,
      });
    },
    flush: () => logger.flush(),
  };
}
