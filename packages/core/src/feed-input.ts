import { Readable, type Writable } from "node:stream";
import type { ExecOptions } from "./transport.js";

/**
 * Gives a command its input, as every transport does: nothing (input closed), bytes, or a stream
 * piped with backpressure. Input that breaks off (its producer failed) calls `stop`, so the
 * command is not left waiting for more.
 */
export function feedInput(stdin: ExecOptions["stdin"], destination: Writable, stop: () => void): void {
  if (stdin === undefined) destination.end();
  else if (stdin instanceof Readable) {
    stdin.pipe(destination);
    stdin.once("error", stop);
    stdin.once("close", () => {
      if (!stdin.readableEnded) stop();
    });
  } else destination.end(stdin);
}
