/** Turns a byte stream into whole lines, each written with a prefix (e.g. the node's name). */
export class LinePrefixer {
  private pending = "";

  constructor(
    private readonly prefix: string,
    private readonly write: (text: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    const lines = (this.pending + chunk.toString()).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.write(`${this.prefix}${line}\n`);
  }

  flush(): void {
    if (this.pending !== "") this.write(`${this.prefix}${this.pending}\n`);
    this.pending = "";
  }
}
