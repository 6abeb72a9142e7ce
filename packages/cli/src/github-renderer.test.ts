import { describe, expect, it } from "vitest";
import { parseNodeName, type DeployEvent } from "@hive/core";
import { githubRenderer } from "./github-renderer.js";

const web = parseNodeName("web-1");
const db = parseNodeName("db");

describe("githubRenderer", () => {
  it("groups each node's lines when it is done and annotates failures", () => {
    const out: string[] = [];
    const render = githubRenderer((l) => out.push(l));
    const events: DeployEvent[] = [
      { type: "step", node: web, step: "build" },
      { type: "step", node: db, step: "build" },
      { type: "progress", node: web, step: "push", bytes: 10, totalBytes: 20 },
      { type: "log", node: db, step: "activate", line: "50% done" },
      { type: "warning", node: db, message: "lost the connection, reconnecting" },
      {
        type: "node-done",
        node: db,
        outcome: "failed",
        step: "activate",
        message: "exited with 4:\nboom, 100%",
        code: "HIVE_ACTIVATION_FAILED",
      },
      { type: "node-done", node: web, outcome: "succeeded" },
    ];
    for (const event of events) render(event);
    expect(out).toEqual([
      "::warning title=hive%3A db::lost the connection, reconnecting",
      "::group::db: failed",
      "build",
      "50% done",
      "::endgroup::",
      "::error title=hive%3A db failed at activate::exited with 4:%0Aboom, 100%25",
      "::group::web-1: succeeded",
      "build",
      "::endgroup::",
    ]);
  });
});
