import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { batchWrites } from "./write-batching.js";

describe("batchWrites", () => {
  it("hands what one tick writes to the stream as one batch, in order, and later ticks as others", async () => {
    const batches: string[][] = [];
    const sink = new Writable({
      writev(chunks, callback) {
        batches.push(chunks.map((c) => String(c.chunk)));
        callback();
      },
      write(chunk, _encoding, callback) {
        batches.push([String(chunk)]);
        callback();
      },
    });
    batchWrites(sink);
    sink.write("len");
    sink.write("payload");
    sink.write("mac");
    await new Promise((r) => setImmediate(r));
    sink.write("next");
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([["len", "payload", "mac"], ["next"]]);
  });
});
