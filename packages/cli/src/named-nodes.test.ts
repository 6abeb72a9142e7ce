import { describe, expect, it } from "vitest";
import { namedNodes } from "./hive-options.js";

describe("namedNodes (evaluated while the hive opens)", () => {
  it("takes plain names from --on and the node of -f REF#NODE, nothing that needs the hive first", () => {
    expect(namedNodes({ on: ["web-1,db.2"] })).toEqual(["web-1", "db.2"]);
    expect(namedNodes({ config: "/srv/fleet#web-1" })).toEqual(["web-1"]);
    expect(namedNodes({})).toEqual([]);
    for (const on of ["web-*", "@web", "web-1,!web-2", "@failed", "$(id)"])
      expect(namedNodes({ on: [on] })).toEqual([]);
  });
});
