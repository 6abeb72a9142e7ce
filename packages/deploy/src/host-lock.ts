import { PassThrough } from "node:stream";
import { z } from "zod";
import { HiveError, type ExecResult } from "@hive/core";
import type { Host } from "./host.js";
import { HOST_PROBE, parseHostState, type HostState } from "./host-state.js";
import { HISTORY_FILE } from "./history.js";
import { LOCK_FILE, SYSTEM_PROFILE } from "./host-paths.js";

/** Who holds a host's deploy lock: the first line of the lock file. */
export const LockHolderSchema = z.object({
  user: z.string(),
  from: z.string(),
  run: z.string(),
  since: z.string(),
});
export type LockHolder = z.infer<typeof LockHolderSchema>;

/**
 * Takes the host's deploy lock and keeps it for as long as this command runs (its stdin open).
 * The lock file names the holder, then one `pid PID BOOT` line per host process that keeps it:
 * this shell, and later each activation runner. A lock none of whose processes lives (on this
 * boot) is stale: its holder died or lost the host, and it is taken over. A mutex (flock) makes
 * the check and the write one step. After the lock, the host's state is printed (HOST_PROBE).
 */
const KEEP_LOCK = `
lock="$1"; holder="$2"; force="$3"
set -- "$4" "$5"
umask 077
mkdir -p "\${lock%/*}" || exit 70
exec 9>> "$lock.mutex" || exit 70
flock 9 || exit 70
read -r boot < /proc/sys/kernel/random/boot_id
if [ -s "$lock" ]; then
  alive=0
  while read -r kind pid pboot; do
    if [ "$kind" = pid ] && [ "$pboot" = "$boot" ] && kill -0 "$pid" 2>/dev/null && grep -q hive "/proc/$pid/cmdline" 2>/dev/null; then alive=1; fi
  done < "$lock"
  if [ "$alive" = 1 ] && [ "$force" != 1 ]; then
    echo "hive-lock-held"
    head -n 1 "$lock"
    exit 75
  fi
  echo "hive-lock-taken-over alive=$alive"
  head -n 1 "$lock"
fi
printf '%s\\npid %s %s\\n' "$holder" "$$" "$boot" > "$lock.new" && mv -f "$lock.new" "$lock" || exit 70
exec 9>&-
echo "hive-lock-acquired"
`;

const HOLD_LOCK = `
echo "hive-lock-ready"
while read -r command; do
  if [ "$command" = release ]; then
    first=; { read -r first < "$lock"; } 2>/dev/null
    if [ "$first" = "$holder" ]; then rm -f "$lock"; fi
    exit 0
  fi
done
exit 0
`;

// Releases a lock whose keeper is gone (its connection dropped): only if this run still holds it.
const RELEASE = `if [ "$(head -n 1 "$1" 2>/dev/null)" = "$2" ]; then rm -f "$1"; fi`;

export interface HostLock {
  /** What the host ran and booted when the lock was taken, and its recent history. */
  state: HostState;
  /** The holder of a stale lock that was taken over, or a live one broken by --break-lock. */
  tookOver: { holder: LockHolder | undefined; alive: boolean } | undefined;
  release(): Promise<void>;
}

function parseHolder(line: string | undefined): LockHolder | undefined {
  try {
    return LockHolderSchema.parse(JSON.parse(line ?? ""));
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  return holder === undefined
    ? "an unknown holder"
    : `${holder.user} on ${holder.from} (run ${holder.run}, since ${holder.since})`;
}

/**
 * Takes a host's deploy lock before anything on it changes, and reads its state in the same
 * command. Fails at once, naming the holder, when another deploy holds it (unless `force`).
 */
export async function lockHost(host: Host, holder: LockHolder, options: { force: boolean }): Promise<HostLock> {
  const node = host.node;
  const holderLine = JSON.stringify(holder);
  const stdin = new PassThrough();
  let output = "";
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const keeper: Promise<ExecResult> = host.exec(
    [
      "sh",
      "-c",
      KEEP_LOCK + HOST_PROBE + HOLD_LOCK,
      "hive-lock",
      LOCK_FILE,
      holderLine,
      options.force ? "1" : "0",
      SYSTEM_PROFILE,
      HISTORY_FILE,
    ],
    {
      privileged: true,
      stdin,
      onStdout: (chunk) => {
        output += chunk.toString();
        if (output.includes("hive-lock-ready\n")) ready();
      },
    },
  );
  // The keeper ending early (lock held, an error, a dropped connection) settles the wait too.
  const ended = await Promise.race([isReady.then(() => undefined), keeper]);
  if (ended !== undefined) {
    stdin.end();
    const lines = output.split("\n");
    if (ended.exitCode === 75) {
      const current = parseHolder(lines[lines.indexOf("hive-lock-held") + 1]);
      throw new HiveError(
        "HIVE_HOST_LOCKED",
        `node ${node}: connect: another deploy holds the host's lock: ${describeHolder(current)}`,
        {
          hint: "hive changed nothing on this host; wait for that deploy to end, or pass --break-lock if its holder is gone",
        },
      );
    }
    const cause =
      ended.stderr.trim().split("\n").slice(-5).join("\n") || `exit ${ended.exitCode ?? ended.signal ?? "?"}`;
    throw new HiveError(
      "HIVE_REMOTE_COMMAND_FAILED",
      `node ${node}: connect: taking the host's deploy lock (${LOCK_FILE}) failed on ${host.description}:\n${cause}`,
      { hint: "hive needs sh, flock (util-linux) and a writable /nix/var/hive on the host" },
    );
  }
  keeper.catch(() => undefined);
  const lines = output.split("\n");
  const takenAt = lines.findIndex((l) => l.startsWith("hive-lock-taken-over"));
  const probe = output.slice(
    output.indexOf("hive-lock-acquired\n") + "hive-lock-acquired\n".length,
    output.indexOf("hive-lock-ready\n"),
  );
  let released = false;
  return {
    state: parseHostState(probe),
    tookOver:
      takenAt === -1
        ? undefined
        : { holder: parseHolder(lines[takenAt + 1]), alive: lines[takenAt]?.endsWith("alive=1") ?? false },
    release: async () => {
      if (released) return;
      released = true;
      stdin.end("release\n");
      const done = await keeper.then(
        (r) => r.exitCode === 0,
        () => false,
      );
      if (!done) {
        // The keeper went with its connection: remove the lock over a new one, if still ours.
        await host
          .exec(["sh", "-c", RELEASE, "hive-unlock", LOCK_FILE, holderLine], { privileged: true, signal: null })
          .catch(() => undefined);
      }
    },
  };
}
