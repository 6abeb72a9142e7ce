import { describe, expect, it } from "vitest";
import { LinePrefixer } from "./line-prefixer.js";

describe("LinePrefixer", () => {
  it("prefixes whole lines, however the bytes arrive", () => {
    const out: string[] = [];
    const p = new LinePrefixer("web-1 | ", (t) => out.push(t));
    p.push("hel");
    p.push("lo\nwor");
    p.push("ld\n\nlast");
    p.flush();
    p.flush();
    expect(out).toEqual(["web-1 | hello\n", "web-1 | world\n", "web-1 | \n", "web-1 | last\n"]);
  });
});
