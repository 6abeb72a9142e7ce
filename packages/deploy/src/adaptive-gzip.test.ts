import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AdaptiveGzip, sniffCompressible } from "./adaptive-gzip.js";

async function squeeze(data: Buffer): Promise<{ out: Buffer; gzip: AdaptiveGzip }> {
  const gzip = new AdaptiveGzip();
  const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) =>
    data.subarray(i * 65536, (i + 1) * 65536),
  );
  const out = await buffer(Readable.from(chunks).pipe(gzip));
  return { out, gzip };
}

describe("gzip that never costs more than it saves", () => {
  it("stores what does not compress, and the stream still unzips to the input", async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const { out, gzip } = await squeeze(data);
    expect(gunzipSync(out).equals(data)).toBe(true);
    expect(gzip.stats.storedWindows).toBeGreaterThan(0);
    expect(out.length / data.length).toBeLessThan(1.01);
  });

  it("compresses what does, and goes back to compressing when the data changes", async () => {
    const text = Buffer.from("the quick brown fox jumps over the lazy dog\n".repeat(250_000));
    const data = Buffer.concat([randomBytes(8 * 1024 * 1024), text, text, text, text]);
    const { out, gzip } = await squeeze(data);
    expect(gunzipSync(out).equals(data)).toBe(true);
    expect(gzip.stats.compressedWindows).toBeGreaterThan(2);
    expect(out.length).toBeLessThan(data.length * 0.75);
  });

  it("tells from a stream's first MiB whether to compress it at all, and gives the stream back whole", async () => {
    for (const [data, compressible] of [
      [randomBytes(3 * 1024 * 1024), false],
      [Buffer.from("a line of text in a store path\n".repeat(100_000)), true],
      [Buffer.from("short"), false],
    ] as const) {
      const sniffed = await sniffCompressible(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      expect(sniffed.compressible).toBe(compressible);
      expect((await buffer(sniffed.stream)).equals(data)).toBe(true);
    }
  });

  it("fails when the stream fails while its start is read, and passes a later failure on", async () => {
    const failing = (after: number) => {
      let sent = 0;
      return new Readable({
        read() {
          if (sent >= after) this.destroy(new Error("export died"));
          else {
            sent += 64 * 1024;
            this.push(randomBytes(64 * 1024));
          }
        },
      });
    };
    await expect(sniffCompressible(failing(128 * 1024))).rejects.toThrow("export died");
    // Past the sample (and past what the returned stream holds before its reader comes).
    const sniffed = await sniffCompressible(failing(2 * 1024 * 1024));
    await expect(buffer(sniffed.stream)).rejects.toThrow("export died");
  });
});
