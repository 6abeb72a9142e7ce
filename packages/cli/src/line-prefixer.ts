import { LineSplitter } from "@hive/core";

/** Turns a byte stream into whole lines, each written with a prefix (e.g. the node's name). */
export class LinePrefixer {
  private readonly lines: LineSplitter;

  constructor(prefix: string, write: (text: string) => void) {
    this.lines = new LineSplitter((line) => write(`${prefix}${line}\n`), 0);
  }

  push(chunk: Buffer | string): void {
    this.lines.push(chunk);
  }

  flush(): void {
    this.lines.end();
  }
}
