/** A line of Nix's internal-json log, in words. */
export type NixLogEvent =
  | { kind: "log"; line: string; id: number | undefined }
  | { kind: "building"; id: number; drv: string; machine: string | undefined }
  | { kind: "stopped"; id: number }
  | { kind: "failed"; drv: string; line: string };

// Activity and result types of Nix's internal-json logger (src/libutil/logging.hh).
const ACT_BUILD = 105;
const RES_BUILD_LOG_LINE = 101;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
// "builder for '/nix/store/…drv' failed with exit code 1" (Nix 2.x), "Cannot build '…drv'." (later).
const FAILED = /(?:builder for|Cannot build) '(\/nix\/store\/[^']+\.drv)'/;

interface Record_ {
  action?: string;
  id?: number;
  type?: number;
  msg?: string;
  level?: number;
  fields?: unknown[];
}

/** Parses a stderr line of `--log-format internal-json`; plain lines pass through as logs. */
export function parseNixLogLine(line: string): NixLogEvent | undefined {
  if (!line.startsWith("@nix ")) return line.trim() === "" ? undefined : { kind: "log", line, id: undefined };
  let record: Record_;
  try {
    record = JSON.parse(line.slice(5)) as Record_;
  } catch {
    return { kind: "log", line, id: undefined };
  }
  if (record.action === "msg" && typeof record.msg === "string" && (record.level ?? 0) <= 3) {
    const text = record.msg.replace(ANSI, "");
    const failed = FAILED.exec(text)?.[1];
    return failed === undefined
      ? { kind: "log", line: text, id: undefined }
      : { kind: "failed", drv: failed, line: text };
  }
  if (record.action === "result" && record.type === RES_BUILD_LOG_LINE && typeof record.fields?.[0] === "string")
    return { kind: "log", line: record.fields[0].replace(ANSI, ""), id: record.id };
  if (record.action === "start" && record.type === ACT_BUILD && typeof record.fields?.[0] === "string") {
    const machine = record.fields[1];
    return {
      kind: "building",
      id: record.id ?? 0,
      drv: record.fields[0],
      machine: typeof machine === "string" && machine !== "" ? machine : undefined,
    };
  }
  if (record.action === "stop" && typeof record.id === "number") return { kind: "stopped", id: record.id };
  return undefined;
}
