import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { HiveError, isHiveError, type NodeName, type StorePath, type Transport } from "@hive/core";
import { runOn } from "./remote-command.js";

export const SYSTEM_PROFILE = "/nix/var/nix/profiles/system";
const ACTIVATION_DIR = "/nix/var/hive/activations";

// Starts switch-to-configuration so that it outlives the SSH session: as a transient systemd unit
// where the target runs systemd, as a detached process otherwise. It leaves its output in
// $base.log and its exit status in $base.status (written last, atomically).
const START_ACTIVATION = `
set -e
dir="$1"; id="$2"; system="$3"; action="$4"
mkdir -p -m 0700 "$dir"
base="$dir/$id"
run='"$1/bin/switch-to-configuration" "$2" > "$3.log" 2>&1; echo $? > "$3.status.tmp"; mv "$3.status.tmp" "$3.status"'
if command -v systemd-run > /dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd-run --quiet --collect --unit "hive-activate-$id" sh -c "$run" hive-activate "$system" "$action" "$base"
else
  setsid sh -c "$run" hive-activate "$system" "$action" "$base" < /dev/null > /dev/null 2>&1 &
fi
`;

export interface ActivationResult {
  exitCode: number;
  log: string;
}

/** Resolves a symlink on the target (e.g. /run/current-system), or undefined if it is absent. */
export async function readRemoteLink(
  transport: Transport,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<string | undefined> {
  const result = await transport.exec(["readlink", "-f", path], options);
  const target = result.stdout.trim();
  return result.exitCode === 0 && target !== "" && target !== path ? target : undefined;
}

/**
 * Runs switch-to-configuration detached from the SSH session and waits for its result. A dropped
 * connection does not stop the activation: hive reconnects and collects its output and status.
 */
export async function activate(
  transport: Transport,
  node: NodeName,
  system: StorePath,
  action: "switch" | "boot" | "test" | "dry-activate",
  options: { signal?: AbortSignal; timeoutMs?: number; onWaiting?: (reason: string) => void } = {},
): Promise<ActivationResult> {
  const id = randomUUID();
  const base = `${ACTIVATION_DIR}/${id}`;
  await runOn(
    transport,
    node,
    "activate",
    ["sh", "-c", START_ACTIVATION, "hive-start-activation", ACTIVATION_DIR, id, system, action],
    {
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60 * 1000);
  for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new HiveError(
        "HIVE_ACTIVATION_FAILED",
        `node ${node}: activate: no result after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`,
        {
          hint: `its output is in ${base}.log on the target`,
        },
      );
    }
    try {
      const status = await transport.exec(["sh", "-c", 'cat "$1.status" 2>/dev/null || true', "hive-poll", base], {
        privileged: true,
      });
      const text = status.stdout.trim();
      if (text !== "") {
        const log = await transport.exec(["cat", `${base}.log`], { privileged: true });
        return { exitCode: Number(text), log: log.stdout };
      }
    } catch (error) {
      // The connection dropped (e.g. the activation restarted the network): reconnect and ask again.
      if (!isHiveError(error) || !/^HIVE_SSH_(DISCONNECTED|CONNECT_FAILED)$/.test(error.code)) throw error;
      options.onWaiting?.(`lost the connection (${error.message}); the activation goes on, reconnecting`);
    }
    await sleep(wait);
  }
}
