import { StringDecoder } from "node:string_decoder";

/** Turns chunks of output into whole lines, each handed on once; keeps the last ones. */
export class LineSplitter {
  private pending = "";
  private readonly decoder = new StringDecoder("utf8");
  private readonly tail: string[] = [];

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly keep = 25,
  ) {}

  push(chunk: Buffer | string): void {
    // A character split across two chunks is decoded whole.
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    this.onLine(line);
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
  }

  /** Flushes a last unterminated line; returns the last lines. */
  end(): string[] {
    const rest = this.pending + this.decoder.end();
    if (rest !== "") this.line(rest);
    this.pending = "";
    return [...this.tail];
  }
}
