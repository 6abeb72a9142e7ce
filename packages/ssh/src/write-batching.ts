import type { Writable } from "node:stream";

/**
 * Makes a stream send what one turn of the event loop writes to it in one go. ssh2 writes every
 * packet in three or four pieces (length, payload, MAC), each its own syscall and, with Nagle
 * off, its own TCP segment; corked until the next tick they leave as one writev. Measured on a
 * 64 MiB push: half the system time, and fewer wake-ups for the host's sshd.
 */
export function batchWrites(stream: Writable): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  Object.defineProperty(stream, "write", {
    configurable: true,
    writable: true,
    value: (...args: unknown[]): boolean => {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return write(...args);
    },
  });
}
