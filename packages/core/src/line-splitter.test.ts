import { describe, expect, it } from "vitest";
import { LineSplitter } from "./line-splitter.js";

describe("LineSplitter", () => {
  it("hands on whole lines across chunks, a split character decoded whole, and keeps the last ones", () => {
    const seen: string[] = [];
    const lines = new LineSplitter((l) => seen.push(l), 2);
    const bytes = Buffer.from("one\ntwö\nthree\nfour", "utf8");
    const cut = bytes.indexOf(0xc3) + 1; // inside "ö"
    lines.push(bytes.subarray(0, cut));
    lines.push(bytes.subarray(cut));
    expect(seen).toEqual(["one", "twö", "three"]);
    expect(lines.end()).toEqual(["three", "four"]);
    expect(seen).toEqual(["one", "twö", "three", "four"]);
  });
});
