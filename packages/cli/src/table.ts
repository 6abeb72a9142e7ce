import Table from "cli-table3";

/** A borderless-ish table for terminals, as every hive command prints them; long cells wrap within colWidths. */
export function plainTable(head: string[], colWidths?: number[]): Table.Table {
  return new Table({
    head,
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
    ...(colWidths ? { colWidths, wordWrap: true } : {}),
  });
}
