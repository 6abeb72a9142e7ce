import { HiveError } from "@hive/core";
import type { Host } from "./host.js";
import { parseGeneration, SYSTEM_PROFILE } from "./host-paths.js";
import { HISTORY_FILE, parseHistory, type DeployRecord } from "./history.js";

/** What a host runs, and what hive's history on it says; read in one command. */
export interface HostState {
  /** The running system (/run/current-system). */
  current: string | undefined;
  /** The system profile's system (what the host boots). */
  profile: string | undefined;
  generation: number | undefined;
  /** When /run/current-system last changed (the last switch or boot). */
  switchedAt: Date | undefined;
  /** The last records of the host's deploy history, oldest first. */
  history: DeployRecord[];
  /** The host runs systemd (as NixOS hosts do): activation goes through systemd-run. */
  systemd: boolean;
}

/** Prints what a host runs and boots, and its recent history; $1 is the system profile, $2 the history. */
export const HOST_PROBE = `
profile="$1"; history="$2"
printf 'current=%s\\n' "$(readlink -e /run/current-system 2>/dev/null)"
printf 'profile=%s\\n' "$(readlink -e "$profile" 2>/dev/null)"
printf 'generation=%s\\n' "$(readlink "$profile" 2>/dev/null)"
printf 'switched=%s\\n' "$(stat -c %Y /run/current-system 2>/dev/null)"
if [ -d /run/systemd/system ]; then echo systemd=1; fi
echo ---
tail -n 100 "$history" 2>/dev/null || true
`;

export function parseHostState(stdout: string): HostState {
  const [head = "", ...rest] = stdout.split("\n---\n");
  const fields = new Map(
    head.split("\n").map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1).trim()] as const;
    }),
  );
  const value = (key: string) => (fields.get(key) ?? "") || undefined;
  const switched = value("switched");
  return {
    current: value("current"),
    profile: value("profile"),
    generation: parseGeneration(value("generation")),
    switchedAt: switched === undefined ? undefined : new Date(Number(switched) * 1000),
    history: parseHistory(rest.join("\n---\n")),
    systemd: value("systemd") === "1",
  };
}

/** Reads a host's state (privileged: the history is root-only). */
export async function probeHost(host: Host): Promise<HostState> {
  const result = await host.exec(["sh", "-c", HOST_PROBE, "hive-status", SYSTEM_PROFILE, HISTORY_FILE], {
    privileged: true,
  });
  if (result.exitCode !== 0)
    throw new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${host.node}: status: reading the host's state failed on ${host.description}:\n${result.stderr.trim()}`,
    );
  return parseHostState(result.stdout);
}
