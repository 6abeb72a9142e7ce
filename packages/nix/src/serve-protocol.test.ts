import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { buffer, text } from "node:stream/consumers";
import { parseStorePath } from "@hive/core";
import { describe, expect, it } from "vitest";
import type { PathInfo } from "./closure.js";
import {
  addToStoreNarHeader,
  ExportToServe,
  narHashBase16,
  queryValidPaths,
  ServeReader,
  u64,
  wireString,
} from "./serve-protocol.js";

const A = parseStorePath("/nix/store/0azm4cylly5vynqrplw3yqvdv4bk68xh-a");
const B = parseStorePath("/nix/store/11vnxb4kk0wmx9fggwb69bbbbbbbbbbb-b");

function info(path: typeof A, nar: Buffer, references: (typeof A)[] = []): PathInfo {
  const hash = createHash("sha256").update(nar).digest("base64");
  return { path, narSize: nar.length, references, narHash: `sha256-${hash}`, deriver: "" };
}

/** An export record as `nix-store --export` writes it: 1, the NAR, the trailer. */
function record(i: PathInfo, nar: Buffer): Buffer {
  return Buffer.concat([
    u64(1),
    nar,
    u64(0x4558494e),
    wireString(i.path),
    u64(i.references.length),
    ...i.references.map(wireString),
    wireString(""),
    u64(0),
  ]);
}

/** Splits `bytes` into chunks of `size` (records and trailers then cross chunk edges). */
function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

describe("the nix-store --serve protocol", () => {
  it("writes strings padded to 8 and paths as a counted list", () => {
    expect(wireString("abc").toString("hex")).toBe(`0300000000000000616263${"00".repeat(5)}`);
    const query = queryValidPaths([A], { lock: true, substitute: false });
    expect(query.readBigUInt64LE(0)).toBe(1n); // QueryValidPaths
    expect(query.readBigUInt64LE(8)).toBe(1n); // lock
    expect(query.readBigUInt64LE(16)).toBe(0n); // no substitution
    expect(query.readBigUInt64LE(24)).toBe(1n); // one path
    expect(query.subarray(40, 40 + A.length).toString()).toBe(A);
  });

  it("reads a NAR hash in each form path-info writes, as base 16", () => {
    // One hash as `nix hash to-base16` prints it, in SRI, in base 16, and in Nix's base 32.
    const hex = "58c492d9db22c08f99e03e02e515b670f8a2829a6dec047f6030307d50aee6d8";
    expect(narHashBase16("sha256-WMSS2dsiwI+Z4D4C5RW2cPiigppt7AR/YDAwfVCu5tg=")).toBe(hex);
    expect(narHashBase16(`sha256:${hex}`)).toBe(hex);
    expect(narHashBase16("sha256:1n76mr87sc1hc1zh9v3dka1a5y3hnqaya0iyw2cqzh12vgcr5i2q")).toBe(hex);
    expect(() => narHashBase16("md5:abc")).toThrow(/not a SHA-256 NAR hash/);
  });

  it("turns an export into AddToStoreNar commands, whatever the chunk edges", async () => {
    const narA = Buffer.alloc(40, 1);
    const narB = Buffer.alloc(24, 2);
    const a = info(A, narA);
    const b = info(B, narB, [A]);
    const exported = Buffer.concat([record(a, narA), record(b, narB), u64(0)]);
    const expected = Buffer.concat([addToStoreNarHeader(a), narA, addToStoreNarHeader(b), narB]);
    for (const size of [1, 7, 8, 13, 64, exported.length]) {
      const order = [a, b];
      const framer = new ExportToServe(() => order.shift());
      const out = await buffer(chunked(exported, size).pipe(framer));
      expect(out.equals(expected)).toBe(true);
      expect(framer.records).toBe(2);
    }
  });

  it("fails an export whose record is not the path expected, or that ends early", async () => {
    const nar = Buffer.alloc(16, 3);
    const a = info(A, nar);
    const b = info(B, nar);
    const wrong = new ExportToServe(() => b);
    await expect(text(Readable.from([record(a, nar), u64(0)]).pipe(wrong))).rejects.toThrow(
      /export stream: .*-a where .*-b was expected/,
    );
    const short = new ExportToServe(() => a);
    await expect(text(Readable.from([record(a, nar)]).pipe(short))).rejects.toThrow(/ended before its end/);
  });

  it("reads answers split anywhere, and fails reads once the server is gone", async () => {
    const reader = new ServeReader();
    const answer = Buffer.concat([Buffer.from("motd\nfree=42\n"), u64(2), wireString(A), wireString(B)]);
    const reads = (async () => [await reader.line(), await reader.line(), await reader.strings()])();
    for (let at = 0; at < answer.length; at += 5) reader.push(answer.subarray(at, at + 5));
    expect(await reads).toEqual(["motd", "free=42", [A, B]]);
    const pending = reader.number();
    reader.end(new Error("gone"));
    await expect(pending).rejects.toThrow("gone");
  });
});
