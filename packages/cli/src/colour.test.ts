import { describe, expect, it } from "vitest";
import { useColour } from "./colour.js";

describe("useColour", () => {
  const tty = { isTTY: true };
  it("colours terminals unless NO_COLOR is set and not empty, or TERM is dumb", () => {
    expect(useColour("auto", tty, {})).toBe(true);
    expect(useColour("auto", tty, { NO_COLOR: "1" })).toBe(false);
    expect(useColour("auto", tty, { NO_COLOR: "" })).toBe(true);
    expect(useColour("auto", tty, { TERM: "dumb" })).toBe(false);
    expect(useColour("auto", {}, {})).toBe(false);
  });
  it("lets FORCE_COLOR and --color override", () => {
    expect(useColour("auto", {}, { FORCE_COLOR: "1" })).toBe(true);
    expect(useColour("auto", tty, { FORCE_COLOR: "0" })).toBe(true);
    expect(useColour("never", tty, { FORCE_COLOR: "1" })).toBe(false);
    expect(useColour("always", {}, { NO_COLOR: "1" })).toBe(true);
  });
});
