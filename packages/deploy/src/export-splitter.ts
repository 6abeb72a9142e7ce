/**
 * Finds where each path's record ends in a `nix-store --export` stream, without buffering it.
 *
 * The stream is, for each path: u64 1, the path's NAR, u64 0x4558494e, its path, references and
 * deriver as strings, u64 0 (no signature); then u64 0. Strings are a u64 length and the bytes,
 * padded to 8. Inside a NAR, the string after "contents", "target" or "name" is data; every other
 * string is structure, and "(" / ")" nest. `push` says where, in the chunk it was given, records
 * end and where the export ends.
 */
type Phase =
  | { kind: "record-start" }
  | { kind: "nar-magic" }
  | { kind: "nar"; depth: number; dataNext: boolean }
  | { kind: "trailer-magic" }
  | { kind: "trailer-path" }
  | { kind: "trailer-ref-count" }
  | { kind: "trailer-refs"; left: number }
  | { kind: "trailer-deriver" }
  | { kind: "trailer-signature" }
  | { kind: "done" };

const DATA_FOLLOWS = new Set(["contents", "target", "name"]);

export interface SplitResult {
  /** Offsets in the chunk where records end. */
  recordEnds: number[];
  /** The store path of each record that ended (from its trailer), in order. */
  recordPaths: string[];
  /** Offset in the chunk where the export ends, if it does. */
  end: number | undefined;
}
const EXPORT_MAGIC = 0x4558494e;

export class ExportSplitter {
  private phase: Phase = { kind: "record-start" };
  /** Bytes of the number or string header being read. */
  private header: Buffer = Buffer.alloc(0);
  /** Bytes of a string still to skip (data, with padding), or to collect (structure). */
  private pending = 0;
  private collecting: Buffer[] | undefined;
  private stringLength = 0;
  private recordPath = "";

  private cuts: SplitResult = { recordEnds: [], recordPaths: [], end: undefined };

  push(chunk: Buffer): SplitResult {
    this.cuts = { recordEnds: [], recordPaths: [], end: undefined };
    let i = 0;
    while (i < chunk.length && this.phase.kind !== "done") {
      if (this.pending > 0) {
        const take = Math.min(this.pending, chunk.length - i);
        if (this.collecting) this.collecting.push(chunk.subarray(i, i + take));
        this.pending -= take;
        i += take;
        if (this.pending === 0) this.stringDone(i);
        continue;
      }
      const take = Math.min(8 - this.header.length, chunk.length - i);
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
      i += take;
      if (this.header.length < 8) continue;
      const value = this.header.readBigUInt64LE(0);
      this.header = Buffer.alloc(0);
      this.number(value, i);
    }
    return this.cuts;
  }

  /** A u64 was read: a plain number, or the length of a string that follows. */
  private number(value: bigint, offset: number): void {
    const p = this.phase;
    switch (p.kind) {
      case "record-start":
        if (value === 0n) {
          this.phase = { kind: "done" };
          this.cuts.end = offset;
        } else if (value === 1n) this.phase = { kind: "nar-magic" };
        else throw new Error(`export stream: expected 0 or 1 before a path, got ${value}`);
        return;
      case "trailer-magic":
        if (value !== BigInt(EXPORT_MAGIC)) throw new Error("export stream: bad trailer magic");
        this.phase = { kind: "trailer-path" };
        return;
      case "trailer-ref-count":
        this.phase = value === 0n ? { kind: "trailer-deriver" } : { kind: "trailer-refs", left: Number(value) };
        return;
      case "trailer-signature":
        if (value !== 0n) throw new Error("export stream: signed exports are not supported");
        this.phase = { kind: "record-start" };
        this.cuts.recordEnds.push(offset);
        this.cuts.recordPaths.push(this.recordPath);
        return;
      default:
        this.startString(Number(value), offset);
    }
  }

  private startString(length: number, offset: number): void {
    const p = this.phase;
    const data = p.kind === "nar" && p.dataNext;
    this.stringLength = length;
    this.pending = length + ((8 - (length % 8)) % 8);
    // Structure strings are short; a trailer's path is kept to check the record's order.
    this.collecting = data || (length > 64 && p.kind !== "trailer-path") ? undefined : [];
    if (this.pending === 0) this.stringDone(offset);
  }

  private stringDone(offset: number): void {
    const text = this.collecting
      ? Buffer.concat(this.collecting).subarray(0, this.stringLength).toString("latin1")
      : undefined;
    this.collecting = undefined;
    const p = this.phase;
    switch (p.kind) {
      case "nar-magic":
        if (text !== "nix-archive-1") throw new Error("export stream: not a NAR");
        this.phase = { kind: "nar", depth: 0, dataNext: false };
        return;
      case "nar": {
        if (p.dataNext) {
          p.dataNext = false;
          return;
        }
        if (text === "(") p.depth++;
        else if (text === ")") {
          p.depth--;
          if (p.depth === 0) this.phase = { kind: "trailer-magic" };
        } else if (text !== undefined && DATA_FOLLOWS.has(text)) p.dataNext = true;
        return;
      }
      case "trailer-path":
        this.recordPath = text ?? "";
        this.phase = { kind: "trailer-ref-count" };
        return;
      case "trailer-refs":
        this.phase = p.left > 1 ? { kind: "trailer-refs", left: p.left - 1 } : { kind: "trailer-deriver" };
        return;
      case "trailer-deriver":
        this.phase = { kind: "trailer-signature" };
        return;
      default:
        throw new Error(`export stream: unexpected string in ${p.kind} at ${offset}`);
    }
  }
}
