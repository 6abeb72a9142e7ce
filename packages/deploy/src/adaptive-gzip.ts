import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import { createGzip, deflateRaw, type Gzip } from "node:zlib";

const deflateRawAsync = promisify(deflateRaw);

/** What is compressed once to decide whether to compress at all. */
const SAMPLE = 1024 * 1024;
/** Input per measurement: enough for zlib's output to reflect it. */
const WINDOW = 4 * 1024 * 1024;
/** Output over input above this: compression costs more CPU than the link saves. */
const INCOMPRESSIBLE = 0.9;
/** Windows sent stored (level 0) before level 1 is tried again: data changes along a closure. */
const STORED_WINDOWS = 4;

/**
 * gzip that never costs more than it saves: level 1 (zlib's fastest), measured over each 4 MiB;
 * where the data does not shrink by a tenth (compressed binaries, random bytes), it goes on at
 * level 0 (stored blocks: a copy and a checksum), trying level 1 again now and then. Each change
 * of level starts a new gzip member (zlib's own level change stays slow for stored data), and
 * `gzip -d` on the host reads the concatenated members as one stream.
 */
export class AdaptiveGzip extends Transform {
  private gzip: Gzip;
  private level = 1;
  private windowIn = 0;
  private windowOut = 0;
  private storedWindows = 0;
  /** Bytes in and out, and windows sent at each level (for tests and logs). */
  readonly stats = { bytesIn: 0, bytesOut: 0, compressedWindows: 0, storedWindows: 0 };

  constructor() {
    super();
    this.gzip = this.member(1);
  }

  private member(level: number): Gzip {
    const gzip = createGzip({ level });
    gzip.on("data", (chunk: Buffer) => {
      this.windowOut += chunk.length;
      this.stats.bytesOut += chunk.length;
      this.push(chunk);
    });
    gzip.on("error", (error) => this.destroy(error));
    return gzip;
  }

  private endMember(): Promise<void> {
    const gzip = this.gzip;
    return new Promise((resolve) => {
      gzip.once("end", resolve);
      gzip.end();
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.windowIn += chunk.length;
    this.stats.bytesIn += chunk.length;
    this.gzip.write(chunk, (error) => {
      if (error) return callback(error);
      if (this.windowIn < WINDOW) return callback();
      const next = this.nextLevel(this.windowOut / this.windowIn);
      this.windowIn = 0;
      this.windowOut = 0;
      if (next === this.level) return callback();
      this.level = next;
      this.endMember().then(() => {
        this.gzip = this.member(next);
        callback();
      }, callback);
    });
  }

  private nextLevel(ratio: number): number {
    if (this.level === 1) {
      this.stats.compressedWindows++;
      return ratio > INCOMPRESSIBLE ? 0 : 1;
    }
    this.stats.storedWindows++;
    this.storedWindows++;
    if (this.storedWindows < STORED_WINDOWS) return 0;
    this.storedWindows = 0;
    return 1;
  }

  override _flush(callback: TransformCallback): void {
    this.endMember().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.gzip.destroy();
    callback(error);
  }
}

/** The start of a stream and the stream itself, whole again: what sniffCompressible reads. */
export interface Sniffed {
  /** Whether the first bytes shrink by a tenth at zlib's fastest level. */
  compressible: boolean;
  stream: Readable;
}

/**
 * Reads the first MiB of a stream (or all of it, if shorter) and compresses them once to see
 * whether compression can pay at all; returns that and the stream, the bytes read included. A
 * closure whose start does not shrink is sent as it is: no gzip on either side.
 */
export async function sniffCompressible(input: Readable): Promise<Sniffed> {
  // The sample waits in the returned stream's buffer, and what follows is piped in after it, so
  // that a slow reader holds a few chunks here, not a MiB for the whole push (an async iterator
  // re-wrapped as a stream cost every later chunk a few promises: 70-180 ms of CPU per 300 MB).
  const stream = new PassThrough();
  const sample = await new Promise<Buffer>((resolve, reject) => {
    const head: Buffer[] = [];
    let size = 0;
    const stop = () => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      head.push(chunk);
      size += chunk.length;
      if (size >= SAMPLE) onEnd();
    };
    const onEnd = () => {
      stop();
      input.pause();
      // From now on a failure ends the returned stream with it (set before anything else runs: a
      // failure is emitted on the next tick). A reader that pipes it without listening learns
      // of the failure from whoever made the input (the export's own end), not by a crash.
      stream.on("error", () => undefined);
      input.once("error", (error) => stream.destroy(error));
      for (const chunk of head) stream.write(chunk);
      input.pipe(stream);
      resolve(Buffer.concat(head));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    input.on("data", onData);
    input.once("end", onEnd);
    input.once("error", onError);
  });
  const compressible =
    sample.length > 0 && (await deflateRawAsync(sample, { level: 1 })).length <= sample.length * INCOMPRESSIBLE;
  return { compressible, stream };
}
