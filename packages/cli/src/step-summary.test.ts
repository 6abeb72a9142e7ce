import { describe, expect, it } from "vitest";
import { parseNodeName, type StorePath } from "@hive/core";
import { NodeTimes } from "./node-times.js";
import { stepSummary } from "./step-summary.js";

const web = parseNodeName("web-1");
const db = parseNodeName("db");

describe("the GitHub step summary", () => {
  it("has a row per node with its time, and failures' messages as safe Markdown", () => {
    let now = 1000;
    const times = new NodeTimes(() => now);
    times.onEvent({ type: "step", node: web, step: "build" });
    times.onEvent({ type: "step", node: db, step: "build" });
    now = 3500;
    times.onEvent({ type: "node-done", node: web, outcome: "succeeded" });
    times.onEvent({ type: "node-done", node: db, outcome: "failed", step: "activate" });
    const markdown = stepSummary(
      "apply switch",
      [
        {
          node: web,
          outcome: "succeeded",
          system: "/nix/store/00000000000000000000000000000000-nixos-system-web-1" as StorePath,
        },
        { node: db, outcome: "failed", step: "activate", message: "exit 1 | <b>bad</b>\nsecond line", hint: "look" },
      ],
      times,
      4200,
      "run-1",
    );
    expect(markdown.split("\n")).toEqual([
      "### hive apply switch: 1 succeeded, 1 failed in 4.2 s",
      "",
      "| node | outcome | step | time | system |",
      "| --- | --- | --- | --- | --- |",
      "| web-1 | ✅ succeeded |  | 2.5 s | `/nix/store/00000000000000000000000000000000-nixos-system-web-1` |",
      "| db | ❌ failed | activate | 2.5 s |  |",
      "",
      "- **db** at activate: exit 1 \\| &lt;b&gt;bad&lt;/b&gt; second line (hint: look)",
      "",
      "<sub>run run-1</sub>",
      "",
    ]);
  });
});
