/** One line of a build's output, from Nix's internal-json log, in words. */
export type NixLogEvent =
  { kind: "log"; line: string } | { kind: "building"; drv: string; machine: string | undefined };

// Activity and result types of Nix's internal-json logger (src/libutil/logging.hh).
const ACT_BUILD = 105;
const RES_BUILD_LOG_LINE = 101;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Parses a stderr line of `--log-format internal-json`; plain lines pass through as logs. */
export function parseNixLogLine(line: string): NixLogEvent | undefined {
  if (!line.startsWith("@nix ")) return line.trim() === "" ? undefined : { kind: "log", line };
  let record: { action?: string; type?: number; text?: string; msg?: string; level?: number; fields?: unknown[] };
  try {
    record = JSON.parse(line.slice(5)) as typeof record;
  } catch {
    return { kind: "log", line };
  }
  if (record.action === "msg" && typeof record.msg === "string" && (record.level ?? 0) <= 3)
    return { kind: "log", line: record.msg.replace(ANSI, "") };
  if (record.action === "result" && record.type === RES_BUILD_LOG_LINE && typeof record.fields?.[0] === "string")
    return { kind: "log", line: record.fields[0].replace(ANSI, "") };
  if (record.action === "start" && record.type === ACT_BUILD && typeof record.fields?.[0] === "string") {
    const machine = record.fields[1];
    return {
      kind: "building",
      drv: record.fields[0],
      machine: typeof machine === "string" && machine !== "" ? machine : undefined,
    };
  }
  return undefined;
}
