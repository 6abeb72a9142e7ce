/** Turns chunks of output into whole lines, each handed on once; keeps the last ones. */
export class LineSplitter {
  private pending = "";
  private readonly tail: string[] = [];

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly keep = 25,
  ) {}

  push(chunk: Buffer | string): void {
    const lines = (this.pending + chunk.toString()).split("\n");
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
    if (this.pending !== "") this.line(this.pending);
    this.pending = "";
    return [...this.tail];
  }
}
