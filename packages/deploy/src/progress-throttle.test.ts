import { describe, expect, it } from "vitest";
import { throttleProgress } from "./progress-throttle.js";

describe("throttleProgress", () => {
  it("passes the first update, then at most one per interval, and always the last", () => {
    let clock = 0;
    const seen: number[] = [];
    const report = throttleProgress(
      (bytes) => seen.push(bytes),
      250,
      () => clock,
    );
    for (let bytes = 1; bytes <= 100; bytes++) {
      report(bytes, 100);
      clock += 10;
    }
    expect(seen).toEqual([1, 26, 51, 76, 100]);
  });
});
