import type { ClientChannel } from "ssh2";

/**
 * A host this near (a TCP handshake, or a command start: two round trips and sshd's fork) has a
 * round trip under 20 ms: half a window per round trip is then 50 MB/s or more, about what a host's
 * store takes in. Samples are taken in JavaScript, so a busy event loop adds to them (ten
 * handshakes at once measured 7-10 ms on loopback); the least of several is what counts.
 */
const NEAR_MS = 20;
/** Smaller windows are left whole: the buffering they allow is small. */
const MIN_WINDOW = 1024 * 1024;

/**
 * Keeps what a streamed command has in flight to half the server's window plus two packets, on a
 * near link to OpenSSH. sshd holds what it received but the command has not read yet; with a
 * consumer slower than the link (the host's nix-store writing its store) that is the whole 2 MiB
 * window, and perf found most of sshd's time in copying, zeroing and faulting in that memory (a
 * 32 MB push: 280 ms of sshd's CPU, 150 ms with half the window in flight). OpenSSH adjusts the window once less
 * than half of it is left (channels.c, channel_check_window), so holding back the rest never
 * stalls a command. A far link keeps the whole window: there the window bounds the throughput.
 */
export function limitInFlight(channel: ClientChannel, serverSoftware: string | undefined, nearestMs: number): void {
  if (nearestMs > NEAR_MS || !/^OpenSSH_/.test(serverSoftware ?? "")) return;
  const outgoing = (channel as unknown as { outgoing?: { window?: unknown; packetSize?: unknown } }).outgoing;
  const window = outgoing?.window;
  const packet = outgoing?.packetSize;
  if (outgoing === undefined || typeof window !== "number" || typeof packet !== "number" || window < MIN_WINDOW) return;
  outgoing.window = Math.floor(window / 2) + 2 * packet;
}

/** What a streamed command's channel queues here before its writer waits (ssh2's default is 2 MiB). */
const QUEUED_BYTES = 256 * 1024;

/**
 * Keeps what a streamed command queues in this process small: ssh2's channel buffers up to 2 MiB
 * beyond the window before a pipe into it waits, per host pushed to at once. The window keeps the
 * link busy; a queue of a few packets keeps the window fed.
 */
export function limitQueued(channel: ClientChannel): void {
  const state = (channel as unknown as { _writableState?: { highWaterMark?: unknown } })._writableState;
  if (state !== undefined && typeof state.highWaterMark === "number" && state.highWaterMark > QUEUED_BYTES)
    state.highWaterMark = QUEUED_BYTES;
}
