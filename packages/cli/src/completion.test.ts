import { describe, expect, it } from "vitest";
import { completeSelection } from "./completion.js";

const known = { nodes: ["db", "web-1", "web-2"], tags: ["db", "web"] };

describe("completeSelection", () => {
  it("completes names and @tags", () => {
    expect(completeSelection("", known)).toEqual(["db", "web-1", "web-2", "@db", "@web"]);
    expect(completeSelection("@w", known)).toEqual(["@web"]);
  });
  it("completes the last comma-separated item, after '!' and after --on=", () => {
    expect(completeSelection("web-1,@d", known)).toEqual(["web-1,@db"]);
    expect(completeSelection("!web", known)).toEqual(["!web-1", "!web-2"]);
    expect(completeSelection("--on=db,!@", known)).toEqual(["--on=db,!@db", "--on=db,!@web"]);
  });
});
