import { rolloutLine } from "./rollout-text.js";
import type { DeployEvent, NodeName } from "@hive/core";
import { colours, type Colours } from "./colour.js";
import { bytes } from "./format.js";
import { LiveState, type NodeRow } from "./live-state.js";

const SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
const BAR = 16;
const ESC = "\u001b[";

/** A row of text made of plain pieces, coloured only after it has been cut to the width. */
type Piece = readonly [text: string, paint?: ((s: string) => string) | undefined];

function fit(pieces: readonly Piece[], width: number): string {
  let left = width;
  let out = "";
  for (const [text, paint] of pieces) {
    if (left <= 0) break;
    const cut = text.length > left ? `${text.slice(0, Math.max(0, left - 1))}…` : text;
    left -= cut.length;
    out += paint ? paint(cut) : cut;
  }
  return out;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export interface LiveRendererOptions {
  /** What runs, for the header: "apply switch". */
  title: string;
  colour: boolean;
}

/**
 * The terminal view: a header with counts, then one line per node (step, progress bar, elapsed),
 * redrawn in place at most ten times a second inside a synchronized update, so it does not
 * flicker. Warnings and each failure with its last log lines print above it and stay.
 */
export class LiveRenderer {
  private readonly state = new LiveState();
  private readonly c: Colours;
  private readonly startedAt = Date.now();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private clock: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly restoreCursor = () => this.out.write(`${ESC}?25h`);

  constructor(
    private readonly out: NodeJS.WritableStream & { columns?: number; rows?: number },
    private readonly options: LiveRendererOptions,
  ) {
    this.c = colours(options.colour);
    this.out.write(`${ESC}?25l`);
    process.once("exit", this.restoreCursor);
  }

  /** Rows for nodes before their first event (they show as waiting). */
  expect(nodes: readonly NodeName[]): void {
    this.state.expect(nodes);
    this.schedule();
  }

  readonly onEvent = (event: DeployEvent): void => {
    const row = this.state.apply(event, Date.now());
    if (event.type === "warning") this.above([`${event.node ?? "hive"}: warning: ${event.message}`], this.c.yellow);
    const rollout = rolloutLine(event);
    if (rollout !== undefined) this.above([`hive: ${rollout}`], event.type === "halt" ? this.c.red : this.c.dim);
    if (event.type === "node-done" && event.outcome === "failed" && row) this.above(this.failure(row, event.message));
    this.schedule();
  };

  private failure(row: NodeRow, message = ""): string[] {
    const lines = message.split("\n");
    const [first = "", ...rest] = lines.slice(0, 12);
    const tail = row.tail.filter((l) => !message.includes(l));
    return [
      this.c.red(`✗ ${row.node} failed at ${row.step ?? "?"}: ${first}`),
      ...rest.map((l) => `    ${l}`),
      ...(tail.length > 0 ? [this.c.dim("  last log lines:"), ...tail.map((l) => this.c.dim(`    ${l}`))] : []),
    ];
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
    // Elapsed times move even when no event comes.
    this.clock ??= setInterval(() => this.schedule(), 500).unref();
  }

  private header(width: number): string {
    const n = this.state.counts();
    const c = this.c;
    return fit(
      [
        [`hive ${this.options.title}  `, c.bold],
        [`${n.running} running`, n.running > 0 ? c.cyan : undefined],
        [" · "],
        [`${n.done} done`, n.done > 0 ? c.green : undefined],
        [" · "],
        [`${n.failed} failed`, n.failed > 0 ? c.red : undefined],
        [" · "],
        [`${n.waiting} waiting`, c.dim],
        [`  ${seconds(Date.now() - this.startedAt)}`, c.dim],
      ],
      width,
    );
  }

  private status(row: NodeRow): Piece[] {
    const c = this.c;
    if (row.outcome === "failed") return [[`failed at ${row.step ?? "?"}`, c.red]];
    if (row.outcome === "succeeded") return [["succeeded", c.green]];
    if (row.outcome !== undefined) return [[row.outcome, c.dim]];
    if (row.step === undefined) return [["waiting", c.dim]];
    if (row.progress) {
      const { bytes: done, totalBytes } = row.progress;
      return [[`${row.step} `], ...this.bar(done / totalBytes), [` ${bytes(done)} / ${bytes(totalBytes)}`]];
    }
    if (row.step === "build" && row.build && row.build.total > 0) {
      const { done, total, building } = row.build;
      return [
        ["build "],
        ...this.bar(done / total),
        [` ${done}/${total} drvs`],
        [building.length > 0 ? `  ${building.join(", ")}` : "", c.dim],
      ];
    }
    return [[`${row.step}${row.detail ? ` ${row.detail}` : ""}`]];
  }

  private bar(fraction: number): Piece[] {
    const filled = Math.min(BAR, Math.round(fraction * BAR));
    return [
      ["█".repeat(filled), this.c.cyan],
      ["░".repeat(BAR - filled), this.c.dim],
    ];
  }

  private line(row: NodeRow, nameWidth: number, width: number, spin: string): string {
    const c = this.c;
    const icon: Piece =
      row.outcome === "failed"
        ? ["✗", c.red]
        : row.outcome === "succeeded" || row.outcome === "unchanged"
          ? ["✓", c.green]
          : row.outcome === "skipped"
            ? ["-", c.dim]
            : row.step === undefined
              ? ["·", c.dim]
              : [spin, c.cyan];
    const elapsed = row.startedAt === undefined ? "" : seconds((row.finishedAt ?? Date.now()) - row.startedAt);
    return fit(
      [icon, [` ${row.node.padEnd(nameWidth)}  `], [elapsed.padStart(6), c.dim], ["  "], ...this.status(row)],
      width,
    );
  }

  /** The rows that fit on the screen: running and failed ones first when not all do. */
  private visible(height: number): { rows: NodeRow[]; hidden: string | undefined } {
    const all = [...this.state.rows.values()];
    const room = Math.max(1, height - 3);
    if (all.length <= room) return { rows: all, hidden: undefined };
    const rank = (r: NodeRow) =>
      r.outcome === "failed" ? 1 : r.outcome !== undefined ? 3 : r.step === undefined ? 2 : 0;
    const shown = new Set([...all].sort((a, b) => rank(a) - rank(b)).slice(0, room - 1));
    const rest = all.filter((r) => !shown.has(r));
    const kinds: [string, number][] = [
      ["running", rest.filter((r) => rank(r) === 0).length],
      ["failed", rest.filter((r) => rank(r) === 1).length],
      ["waiting", rest.filter((r) => rank(r) === 2).length],
      ["finished", rest.filter((r) => rank(r) === 3).length],
    ];
    const parts = kinds.filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`);
    return { rows: all.filter((r) => shown.has(r)), hidden: `… ${rest.length} more (${parts.join(", ")})` };
  }

  private frame(): string[] {
    // A terminal that reports no size (0) gets a usual one.
    const width = Math.max(20, (this.out.columns === undefined || this.out.columns === 0 ? 100 : this.out.columns) - 1);
    const { rows, hidden } = this.visible(this.out.rows === undefined || this.out.rows === 0 ? 50 : this.out.rows);
    const nameWidth = Math.max(4, ...rows.map((r) => r.node.length));
    const spin = SPINNER[this.tick++ % SPINNER.length] ?? " ";
    return [
      this.header(width),
      ...rows.map((r) => this.line(r, nameWidth, width, spin)),
      ...(hidden ? [this.c.dim(fit([[hidden]], width))] : []),
    ];
  }

  private draw(): void {
    const lines = this.frame();
    const up = this.drawn > 0 ? `${ESC}${this.drawn}A` : "";
    // Synchronized update (ignored where unsupported): the terminal shows the frame whole.
    this.out.write(`${ESC}?2026h${up}${lines.map((l) => `\r${ESC}2K${l}`).join("\n")}\n${ESC}?2026l`);
    this.drawn = lines.length;
  }

  private above(lines: readonly string[], paint?: (s: string) => string): void {
    const up = this.drawn > 0 ? `${ESC}${this.drawn}A\r${ESC}J` : "";
    this.out.write(`${up}${lines.map((l) => (paint ? paint(l) : l)).join("\n")}\n`);
    this.drawn = 0;
    this.draw();
  }

  /** The last frame, as it stays on screen. */
  finish(): void {
    if (this.clock) clearInterval(this.clock);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state.rows.size > 0) this.draw();
    this.restoreCursor();
    process.off("exit", this.restoreCursor);
  }
}
