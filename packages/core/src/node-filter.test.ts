import { describe, expect, it } from "vitest";
import { HiveError, parseNodeFilter, parseNodeName, requireExplicitSelection, selectNodes } from "./index.js";

const nodes = [
  { name: parseNodeName("web-1"), tags: ["web", "eu"] },
  { name: parseNodeName("web-2"), tags: ["web", "us"] },
  { name: parseNodeName("db-1"), tags: ["db", "eu"] },
  { name: parseNodeName("cache"), tags: [] },
];
const select = (...on: string[]) => selectNodes(parseNodeFilter(on), nodes);

describe("node selection", () => {
  it("selects by name, glob and tag, OR'd", () => {
    expect(select("cache")).toEqual(["cache"]);
    expect(select("web-*")).toEqual(["web-1", "web-2"]);
    expect(select("@db,cache")).toEqual(["db-1", "cache"]);
    expect(select("@e*")).toEqual(["web-1", "db-1"]);
    expect(select("@db", "cache")).toEqual(["db-1", "cache"]);
  });

  it("excludes with !name and !@tag", () => {
    expect(select("@web,!web-2")).toEqual(["web-1"]);
    expect(select("!@eu")).toEqual(["web-2", "cache"]);
    expect(select("*,!@web,!cache")).toEqual(["db-1"]);
  });

  it("knows when tags are needed", () => {
    expect(parseNodeFilter(["web-*,!db"]).needsTags).toBe(false);
    expect(parseNodeFilter(["web-*,!@db"]).needsTags).toBe(true);
  });

  it.each(["", "web-1,", ",web-1", "web-1,,db-1", "@", "!", "!@"])("refuses the empty item in %j", (on) => {
    expect(() => parseNodeFilter([on])).toThrow(/empty item/);
  });

  it("reports every pattern that matches no node, with the nodes and tags there are", () => {
    const error = (() => {
      try {
        select("web-1,wbe-2,!@nope");
      } catch (e) {
        return e as HiveError;
      }
      throw new Error("no error");
    })();
    expect(error.code).toBe("HIVE_UNKNOWN_NODE");
    expect(error.message).toBe('--on "wbe-2", "!@nope" matches no node');
    expect(error.hint).toBe("nodes: web-1, web-2, db-1, cache; tags: @db, @eu, @us, @web");
  });

  it("explains that reserved names are not nodes", () => {
    expect(() => select("defaults")).toThrow(/--on "defaults": defaults is not a node/);
    expect(() => select("web-1,!meta")).toThrow(/--on "!meta": meta is not a node/);
  });

  it("treats hostile names and tags as plain text", () => {
    const hostile = [{ name: parseNodeName("a"), tags: ["$(reboot)", "it's", "two words"] }];
    expect(selectNodes(parseNodeFilter(["@$(reboot)"]), hostile)).toEqual(["a"]);
    expect(selectNodes(parseNodeFilter(["@it's"]), hostile)).toEqual(["a"]);
    expect(selectNodes(parseNodeFilter(["@two words"]), hostile)).toEqual(["a"]);
  });

  it("refuses a deploy without --on when meta.allowApplyAll is false", () => {
    expect(() => requireExplicitSelection(false, undefined)).toThrow(/allowApplyAll = false/);
    expect(() => requireExplicitSelection(false, parseNodeFilter(["web-1"]))).not.toThrow();
    expect(() => requireExplicitSelection(true, undefined)).not.toThrow();
  });
});
