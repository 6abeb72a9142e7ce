import { Transform, type TransformCallback } from "node:stream";
import type { PathInfo } from "./closure.js";

/**
 * The client side of `nix-store --serve --write` (Nix's "serve" protocol, the one `nix copy
 * --to ssh://` speaks): one process on the target answers which paths it has and adds paths
 * from their NARs, each hashed once as it is written. `nix-store --import` instead holds each
 * NAR in memory, hashes it twice, and needs a process of its own after the query.
 *
 * Numbers are u64 little-endian; a string is its length and its bytes, padded to 8.
 */
export const SERVE_MAGIC_1 = 0x390c9deb;
export const SERVE_MAGIC_2 = 0x5452eecb;
/** 2.5: the first version with AddToStoreNar, and the oldest one Nix's own client accepts. */
export const SERVE_VERSION = 0x205;
const QUERY_VALID_PATHS = 1;
const ADD_TO_STORE_NAR = 9;
const EXPORT_MAGIC = 0x4558494e;

export function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

export function wireString(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([u64(bytes.length), bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}

function wireStrings(values: readonly string[]): Buffer {
  return Buffer.concat([u64(values.length), ...values.map(wireString)]);
}

/** The client's greeting; the server answers with SERVE_MAGIC_2 and its version. */
export function greeting(): Buffer {
  return Buffer.concat([u64(SERVE_MAGIC_1), u64(SERVE_VERSION)]);
}

/**
 * Which of `paths` the store has. `lock` makes them temporary GC roots for as long as the server
 * runs; `substitute` lets it fetch from its own substituters first (failures are warnings).
 */
export function queryValidPaths(paths: readonly string[], options: { lock: boolean; substitute: boolean }): Buffer {
  return Buffer.concat([
    u64(QUERY_VALID_PATHS),
    u64(options.lock ? 1 : 0),
    u64(options.substitute ? 1 : 0),
    wireStrings(paths),
  ]);
}

const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";

/** Nix's base-32 (least significant digit last), as bytes. */
function fromNix32(text: string, bytes: number): Buffer | undefined {
  const out = Buffer.alloc(bytes);
  for (let n = 0; n < text.length; n++) {
    const digit = NIX32.indexOf(text[text.length - n - 1] ?? "");
    if (digit < 0) return undefined;
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff);
    if (i + 1 < bytes) out[i + 1] = (out[i + 1] ?? 0) | (digit >> (8 - j));
  }
  return out;
}

/** A SHA-256 NAR hash as `nix path-info --json` writes it (SRI, or sha256: in base 32 or 16), in base 16. */
export function narHashBase16(hash: string): string {
  const sri = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(hash);
  if (sri?.[1] !== undefined) return Buffer.from(sri[1], "base64").toString("hex");
  const body = hash.replace(/^sha256:/, "");
  if (/^[0-9a-f]{64}$/.test(body)) return body;
  const decoded = body.length === 52 ? fromNix32(body, 32) : undefined;
  if (decoded === undefined) throw new Error(`not a SHA-256 NAR hash: ${hash}`);
  return decoded.toString("hex");
}

/** AddToStoreNar up to the NAR itself (narSize bytes follow); the server answers 1 once it is added. */
export function addToStoreNarHeader(info: PathInfo): Buffer {
  if (info.narHash === undefined) throw new Error(`${info.path}: no NAR hash to send`);
  return Buffer.concat([
    u64(ADD_TO_STORE_NAR),
    wireString(info.path),
    wireString(info.deriver ?? ""),
    wireString(narHashBase16(info.narHash)),
    wireStrings(info.references),
    u64(info.registrationTime ?? 0),
    u64(info.narSize),
    u64(info.ultimate ? 1 : 0),
    wireStrings(info.signatures ?? []),
    wireString(info.ca ?? ""),
  ]);
}

/** Length of an export record's trailer at the start of `buffer`, once all of it is there. */
function trailerLength(buffer: Buffer): { length: number; path: string } | undefined {
  let at = 0;
  const number = (): number | undefined => {
    if (buffer.length < at + 8) return undefined;
    const value = Number(buffer.readBigUInt64LE(at));
    at += 8;
    return value;
  };
  const string = (): string | undefined => {
    const length = number();
    if (length === undefined || buffer.length < at + length + ((8 - (length % 8)) % 8)) return undefined;
    const value = buffer.toString("utf8", at, at + length);
    at += length + ((8 - (length % 8)) % 8);
    return value;
  };
  const magic = number();
  if (magic === undefined) return undefined;
  if (magic !== EXPORT_MAGIC) throw new Error(`export stream: expected the record's trailer, got ${magic}`);
  const path = string();
  const references = number();
  if (path === undefined || references === undefined) return undefined;
  for (let i = 0; i < references; i++) if (string() === undefined) return undefined;
  if (string() === undefined) return undefined; // deriver
  const signed = number();
  if (signed === undefined || (signed === 1 && string() === undefined)) return undefined;
  return { length: at, path };
}

/**
 * Turns a `nix-store --export` stream (per path: 1, its NAR, a trailer; then 0) into AddToStoreNar
 * commands. `next` names the path of each record as it starts (the export's order); the trailer,
 * which names it too, is checked against it.
 */
export class ExportToServe extends Transform {
  private phase: "start" | "nar" | "trailer" | "done" = "start";
  private pending: Buffer = Buffer.alloc(0);
  private narLeft = 0;
  private current: PathInfo | undefined;
  /** Paths sent, each of which the server acknowledges. */
  records = 0;

  constructor(private readonly next: () => PathInfo | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.phase === "done" ? null : new Error("export stream: ended before its end"));
  }

  private consume(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && this.phase !== "done") {
      if (this.phase === "nar") {
        const take = Math.min(this.narLeft, data.length);
        this.push(data.subarray(0, take));
        this.narLeft -= take;
        data = data.subarray(take);
        if (this.narLeft === 0) this.phase = "trailer";
        continue;
      }
      this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
      const used = this.phase === "start" ? this.recordStart() : this.trailer();
      if (used === undefined) {
        // Kept past this chunk: copied, so the chunk's buffer is not held.
        this.pending = Buffer.from(this.pending);
        return;
      }
      data = this.pending.subarray(used);
      this.pending = Buffer.alloc(0);
    }
  }

  /** Bytes used of `pending` for a record's start, or undefined while they are not all there. */
  private recordStart(): number | undefined {
    if (this.pending.length < 8) return undefined;
    const value = this.pending.readBigUInt64LE(0);
    if (value === 0n) {
      this.phase = "done";
      return 8;
    }
    if (value !== 1n) throw new Error(`export stream: expected 0 or 1 before a path, got ${value}`);
    const info = this.next();
    if (info === undefined) throw new Error("export stream: more paths than asked for");
    this.current = info;
    this.records++;
    this.push(addToStoreNarHeader(info));
    this.narLeft = info.narSize;
    this.phase = info.narSize > 0 ? "nar" : "trailer";
    return 8;
  }

  private trailer(): number | undefined {
    const found = trailerLength(this.pending);
    if (found === undefined) return undefined;
    if (found.path !== this.current?.path)
      throw new Error(`export stream: ${found.path} where ${this.current?.path ?? "nothing"} was expected`);
    this.phase = "start";
    return found.length;
  }
}

/** Reads the server's answers as they arrive: numbers, strings, and the shell's text line before them. */
export class ServeReader {
  private buffer: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;
  private waiting: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.wake();
  }

  /** No more answers: reads still waiting (and later ones) fail with `error`. */
  end(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private async take<T>(parse: () => { value: T; used: number } | undefined): Promise<T> {
    for (;;) {
      const parsed = parse();
      if (parsed !== undefined) {
        this.buffer = this.buffer.subarray(parsed.used);
        return parsed.value;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  line(): Promise<string> {
    return this.take(() => {
      const end = this.buffer.indexOf(10);
      return end < 0 ? undefined : { value: this.buffer.toString("utf8", 0, end), used: end + 1 };
    });
  }

  number(): Promise<number> {
    return this.take(() =>
      this.buffer.length < 8 ? undefined : { value: Number(this.buffer.readBigUInt64LE(0)), used: 8 },
    );
  }

  async strings(): Promise<string[]> {
    const count = await this.number();
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = await this.number();
      const padded = length + ((8 - (length % 8)) % 8);
      values.push(
        await this.take(() =>
          this.buffer.length < padded ? undefined : { value: this.buffer.toString("utf8", 0, length), used: padded },
        ),
      );
    }
    return values;
  }
}
