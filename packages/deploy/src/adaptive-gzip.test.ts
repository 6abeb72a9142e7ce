import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AdaptiveGzip } from "./adaptive-gzip.js";

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
});
