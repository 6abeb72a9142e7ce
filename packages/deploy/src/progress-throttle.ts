/**
 * Byte progress at most once per `intervalMs` (and always the last: bytes reaching the total).
 * A push reports every chunk it sends (64 KiB); as NDJSON that was about 500 lines per 30 MiB
 * per host, and writing them cost more CPU than the ciphers of the push.
 */
export function throttleProgress(
  emit: (bytes: number, totalBytes: number) => void,
  intervalMs = 250,
  now: () => number = Date.now,
): (bytes: number, totalBytes: number) => void {
  let last = -Infinity;
  return (bytes, totalBytes) => {
    const t = now();
    if (bytes < totalBytes && t - last < intervalMs) return;
    last = t;
    emit(bytes, totalBytes);
  };
}
