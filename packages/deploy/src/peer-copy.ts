import { HiveError, knownHostsName, type NodeName } from "@hive/core";
import { narHashes, type PathInfo } from "@hive/nix";
import type { Host } from "./host.js";

/** Where peers reach a host's sshd (deployment.fanOut): an address on the fleet's own network. */
export interface PeerAddress {
  address: string;
  port: number;
}

/**
 * Makes (once per run) the sender's ephemeral key, in a private directory on tmpfs (/run) where
 * there is one: the private half is born on the sender and never leaves it. Prints the directory
 * and the public half. $1 is the run's fan-out id (hex).
 */
const MAKE_KEY = `
base=/run; { [ -d /run ] && [ -w /run ]; } || base="\${TMPDIR:-/tmp}"
dir="$base/hive-fan-out-$1"
umask 077
mkdir -p "$dir" || exit 70
[ -f "$dir/key" ] || ssh-keygen -q -t ed25519 -N '' -C "hive-fan-out-$1" -f "$dir/key" > /dev/null || exit 71
printf 'dir=%s\\n' "$dir"
cat "$dir/key.pub"
`;

/**
 * Lets one sender's key in as root on the receiver, for one thing only: \`nix-store --import\`
 * (restrict, a forced command, the sender's address when known, and an expiry two hours out, so
 * a run killed before its clean-up leaves nothing usable). Prints the receiver's host keys, which
 * the sender will accept and no other. $1 the marker (removed by it), $2 the key options, $3 the key.
 */
const AUTHORIZE = `
marker="$1"; options="$2"; key="$3"
home=$(getent passwd root 2> /dev/null | cut -d: -f6); [ -n "$home" ] || home=/root
umask 077
mkdir -p "$home/.ssh" || exit 70
expiry=$(date -d '+2 hours' +%Y%m%d%H%M 2> /dev/null)
[ -n "$expiry" ] && options="$options,expiry-time=\\"$expiry\\""
printf '%s %s %s\\n' "$options" "$key" "$marker" >> "$home/.ssh/authorized_keys" || exit 70
found=0
for f in /etc/ssh/ssh_host_*_key.pub; do
  [ -r "$f" ] && { cut -d' ' -f1,2 "$f"; found=1; }
done
[ "$found" = 1 ] || { echo "no readable /etc/ssh/ssh_host_*_key.pub" >&2; exit 72; }
`;

/** Removes the lines AUTHORIZE added for this marker (the file keeps its inode and mode). */
const DEAUTHORIZE = `
home=$(getent passwd root 2> /dev/null | cut -d: -f6); [ -n "$home" ] || home=/root
file="$home/.ssh/authorized_keys"
[ -f "$file" ] || exit 0
grep -v -F -- "$1" "$file" > "$file.hive-fan-out"; cat "$file.hive-fan-out" > "$file"; rm -f "$file.hive-fan-out"
`;

/**
 * On the sender: one \`nix-store --export\` of the paths on stdin, through dd (whose progress on
 * stderr tells hive the copy moves), into the receiver's forced \`nix-store --import\`. The
 * receiver's host key is pinned; the sender's own ssh_config and agent play no part.
 */
const SEND = `
set -o pipefail
dir="$1"; port="$2"; address="$3"; known="$4"
printf '%s\\n' "$known" >> "$dir/known_hosts"
mapfile -t paths
nix-store --export "\${paths[@]}" | dd bs=1M status=progress | ssh -F /dev/null -T -i "$dir/key" \\
  -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes \\
  -o UserKnownHostsFile="$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 \\
  -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p "$port" -l root -- "$address" nix-store --import
`;

const REMOVE_KEY = `rm -rf -- "$1"`;

/** A sender's ephemeral key on its host. */
export interface SenderKey {
  dir: string;
  publicKey: string;
}

/** An IP literal can restrict the key to the sender's address (`from=`); a name cannot, reliably. */
function fromOption(address: string): string {
  return /^[\d.]+$/.test(address) || /^[\da-fA-F:]+$/.test(address) ? `,from="${address}"` : "";
}

function failure(node: NodeName, what: string, stderr: string, exitCode: number | null): HiveError {
  const cause =
    stderr
      .trim()
      .split(/[\r\n]+/)
      .slice(-4)
      .join("; ") || `exit ${exitCode ?? "?"}`;
  return new HiveError("HIVE_REMOTE_COMMAND_FAILED", `node ${node}: push: ${what}: ${cause}`);
}

/** Makes the sender's ephemeral key for this run (or finds the one made already). */
export async function makeSenderKey(sender: Host, id: string): Promise<SenderKey> {
  const result = await sender.exec(["sh", "-c", MAKE_KEY, "hive-fan-out", id], { privileged: true });
  const dir = /^dir=(.+)$/m.exec(result.stdout)?.[1];
  const publicKey = result.stdout
    .split("\n")
    .find((l) => l.startsWith("ssh-ed25519 "))
    ?.split(" ")
    .slice(0, 2)
    .join(" ");
  if (result.exitCode !== 0 || dir === undefined || publicKey === undefined)
    throw failure(sender.node, "making an ephemeral key on the peer failed", result.stderr, result.exitCode);
  return { dir, publicKey };
}

/** Removes the sender's key directory (with its private half). Never fails: best effort at the end. */
export async function removeSenderKey(sender: Host, key: SenderKey): Promise<void> {
  await sender
    .exec(["sh", "-c", REMOVE_KEY, "hive-fan-out", key.dir], { privileged: true, signal: null })
    .catch(() => undefined);
}

export interface PeerCopyOptions {
  /** Marks this copy's line in the receiver's authorized_keys (unique per run and pair). */
  marker: string;
  /** A copy with no progress for this long is stopped. */
  stallMs: number;
  onProgress?: (bytes: number) => void;
}

/** A sender's key let in on a receiver: the receiver's host keys as known_hosts lines, and the way out. */
export interface PeerAuthorization {
  knownHosts: string;
  revoke(): Promise<void>;
}

/**
 * Lets a sender's ephemeral key in on the receiver for \`nix-store --import\` alone (see AUTHORIZE);
 * `revoke` removes it again and never fails.
 */
export async function authorizePeer(
  receiver: Host,
  receiverAddress: PeerAddress,
  key: SenderKey,
  senderAddress: PeerAddress,
  marker: string,
): Promise<PeerAuthorization> {
  const keyOptions = `restrict,command="nix-store --import"${fromOption(senderAddress.address)}`;
  const revoke = async () => {
    await receiver
      .exec(["sh", "-c", DEAUTHORIZE, "hive-fan-out", marker], { privileged: true, signal: null })
      .catch(() => undefined);
  };
  const authorized = await receiver
    .exec(["sh", "-c", AUTHORIZE, "hive-fan-out", marker, keyOptions, key.publicKey], { privileged: true })
    .catch(async (error: unknown) => {
      await revoke();
      throw error;
    });
  if (authorized.exitCode !== 0) {
    await revoke();
    throw failure(receiver.node, "letting the peer's key in failed", authorized.stderr, authorized.exitCode);
  }
  const knownHosts = authorized.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => `${knownHostsName(receiverAddress.address, receiverAddress.port)} ${l.trim()}`)
    .join("\n");
  return { knownHosts, revoke };
}

/**
 * Copies `paths` (each valid on the sender, with its closure) from `sender` to `receiver` over
 * the fleet's own network: lets the sender's ephemeral key in on the receiver, runs the copy on
 * the sender, and always revokes the key again. Resolves with the bytes sent.
 */
export async function copyBetweenPeers(
  sender: Host,
  key: SenderKey,
  senderAddress: PeerAddress,
  receiver: Host,
  receiverAddress: PeerAddress,
  paths: readonly PathInfo[],
  options: PeerCopyOptions,
): Promise<number> {
  const authorization = await authorizePeer(receiver, receiverAddress, key, senderAddress, options.marker);
  try {
    return await send(sender, key, receiverAddress, authorization.knownHosts, paths, options);
  } finally {
    await authorization.revoke();
  }
}

async function send(
  sender: Host,
  key: SenderKey,
  to: PeerAddress,
  known: string,
  paths: readonly PathInfo[],
  options: PeerCopyOptions,
): Promise<number> {
  const stop = new AbortController();
  const outer = sender.signal;
  const onAbort = () => stop.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort);
  let bytes = 0;
  // Output given to a callback is not collected: the last of it is kept here for the error.
  let said = "";
  const stall = { hit: false };
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stall.hit = true;
      stop.abort(new Error("stalled"));
    }, options.stallMs);
  };
  arm();
  try {
    const result = await sender.exec(
      ["bash", "-c", SEND, "hive-fan-out", key.dir, String(to.port), to.address, known],
      {
        privileged: true,
        stdin: `${paths.map((p) => p.path).join("\n")}\n`,
        signal: stop.signal,
        onStderr: (chunk) => {
          said = (said + chunk.toString()).slice(-4096);
          for (const m of chunk.toString().matchAll(/(\d+) bytes/g)) {
            const n = Number(m[1]);
            if (n > bytes) {
              bytes = n;
              arm();
              options.onProgress?.(bytes);
            }
          }
        },
      },
    );
    if (result.exitCode !== 0)
      throw failure(
        sender.node,
        `copying to ${knownHostsName(to.address, to.port)} failed`,
        said.replace(/^.*bytes.*copied.*$|^\d+\+\d+ records (in|out)$/gm, ""),
        result.exitCode,
      );
    return bytes;
  } catch (error) {
    if (stall.hit)
      throw new HiveError(
        "HIVE_REMOTE_COMMAND_FAILED",
        `node ${sender.node}: push: the copy to ${knownHostsName(to.address, to.port)} made no progress for ${Math.round(options.stallMs / 1000)} s`,
      );
    throw error;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

/**
 * Of the paths on stdin, those valid on the host, then "---", then their NAR hashes as its store
 * recorded them (computed from the bytes it imported), in the same order.
 */
const RECEIVED_HASHES = `
paths=$(cat)
invalid=$(printf '%s\\n' "$paths" | xargs -r nix-store --check-validity --print-invalid) || exit 3
if [ -z "$invalid" ]; then valid=$paths; else valid=$(printf '%s\\n' "$paths" | grep -v -x -F -e "$invalid"); fi
[ -n "$valid" ] || exit 0
printf '%s\\n' "$valid"
echo ---
printf '%s\\n' "$valid" | xargs nix-store --query --hash
`;

/**
 * Checks that what a peer sent is what this machine built: the receiver's store hashed each NAR
 * as it imported it, and those hashes must be this machine's. Run after every peer copy, whole or
 * cut short (a peer could send a poisoned path and then drop the link). A peer that sent anything
 * else (compromised, or its store corrupt) fails the node, which is then never activated.
 */
export async function verifyPeerCopy(receiver: Host, from: NodeName, paths: readonly PathInfo[]): Promise<void> {
  if (paths.length === 0) return;
  const { stdout } = await receiver.run("push", ["sh", "-c", RECEIVED_HASHES, "hive-verify"], {
    privileged: true,
    stdin: `${paths.map((p) => p.path).join("\n")}\n`,
  });
  const [head = "", tail = ""] = stdout.split("\n---\n");
  const valid = head.split("\n").filter((l) => l.startsWith("/"));
  const received = tail.split("\n").filter((l) => l !== "");
  const byPath = new Map(paths.map((p) => [p.path as string, p.path]));
  const ours = await narHashes(
    valid.flatMap((v) => byPath.get(v) ?? []),
    receiver.signal ? { signal: receiver.signal } : {},
  );
  const differ = valid.filter((p, i) => !byPath.has(p) || received[i] !== ours[i]);
  if (differ.length > 0)
    throw new HiveError(
      "HIVE_PEER_CONTENT_MISMATCH",
      `node ${receiver.node}: push: peer ${from} sent ${differ.length} path(s) whose content differs from what this machine built; they are in ${receiver.description}'s store now: ${differ.slice(0, 5).join(" ")}${differ.length > 5 ? " ..." : ""}`,
      {
        hint: `treat ${from} as compromised (or its store as corrupt); delete those paths on ${receiver.node} (nix-store --delete) before deploying it again`,
      },
    );
}
