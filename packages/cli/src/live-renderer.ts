import type { DeployEvent, NodeName } from "@hive/core";

interface Row {
  text: string;
  startedAt: number;
  finishedAt: number | undefined;
}

const SPINNER = "|/-\\";

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A live view for terminals: one line per node (step, elapsed time, bytes copied), redrawn in
 * place at most ten times a second. Warnings print above it. Nothing here touches the pipeline.
 */
export class LiveRenderer {
  private readonly rows = new Map<NodeName, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  readonly onEvent = (event: DeployEvent): void => {
    const row = this.row(event.node);
    switch (event.type) {
      case "step":
        if (row) {
          row.text = `${event.step}${event.detail ? ` ${event.detail}` : ""}`;
        }
        break;
      case "progress":
        if (row && event.totalBytes) row.text = `${event.step} ${mib(event.bytes)} / ${mib(event.totalBytes)}`;
        break;
      case "warning":
        this.above(`${event.node ?? "hive"}: warning: ${event.message}`);
        break;
      case "node-done":
        if (row) {
          row.finishedAt = Date.now();
          row.text = `${event.outcome}${event.outcome === "failed" && event.step ? ` at ${event.step}` : ""}`;
        }
        break;
      case "log":
        break;
    }
    this.schedule();
  };

  private row(node: NodeName | undefined): Row | undefined {
    if (node === undefined) return undefined;
    let row = this.rows.get(node);
    if (row === undefined) {
      row = { text: "waiting", startedAt: Date.now(), finishedAt: undefined };
      this.rows.set(node, row);
    }
    return row;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
    // Elapsed times move even when no event comes.
    this.clock ??= setInterval(() => this.schedule(), 500).unref();
  }

  private clock: NodeJS.Timeout | undefined;

  private frame(): string[] {
    const width = Math.max(...[...this.rows.keys()].map((n) => n.length), 4);
    const columns = this.out.columns || 100;
    const spin = SPINNER[this.tick++ % SPINNER.length] ?? " ";
    return [...this.rows.entries()].map(([node, row]) => {
      const elapsed = `${(((row.finishedAt ?? Date.now()) - row.startedAt) / 1000).toFixed(1)}s`;
      const line = `${row.finishedAt !== undefined ? " " : spin} ${node.padEnd(width)}  ${elapsed.padStart(6)}  ${row.text}`;
      return line.length > columns - 1 ? line.slice(0, columns - 1) : line;
    });
  }

  private draw(): void {
    const lines = this.frame();
    const up = this.drawn > 0 ? `\u001b[${this.drawn}A` : "";
    this.out.write(`${up}${lines.map((l) => `\r\u001b[2K${l}`).join("\n")}\n`);
    this.drawn = lines.length;
  }

  private above(line: string): void {
    const up = this.drawn > 0 ? `\u001b[${this.drawn}A\r\u001b[J` : "";
    this.out.write(`${up}${line}\n`);
    this.drawn = 0;
    this.draw();
  }

  /** The last frame, as it stays on screen. */
  finish(): void {
    if (this.clock) clearInterval(this.clock);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rows.size > 0) this.draw();
  }
}
