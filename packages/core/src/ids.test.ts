import { describe, expect, it } from "vitest";
import { HiveError, parseNodeName, parseStorePath } from "./index.js";

describe("parseNodeName", () => {
  it("accepts host-like names", () => {
    expect(parseNodeName("web-1.example")).toBe("web-1.example");
    expect(parseNodeName("db_2")).toBe("db_2");
  });

  it.each(["", "-rf", ".hidden", "a b", "a'b", "$(reboot)", "a/b", "x".repeat(254)])("refuses %j", (raw) => {
    expect(() => parseNodeName(raw)).toThrow(HiveError);
  });
});

describe("parseStorePath", () => {
  it("accepts a store path", () => {
    const p = "/nix/store/1qrlnla86cfqql629ifzn5p632nc1bbl-nixos-system-web-1-24.05pre-mini";
    expect(parseStorePath(p)).toBe(p);
  });

  it.each([
    "/nix/store/short-x",
    "/tmp/x",
    "/nix/store/1qrlnla86cfqql629ifzn5p632nc1bbe-x",
    "/nix/store/1qrlnla86cfqql629ifzn5p632nc1bbl-a b",
  ])("refuses %j", (raw) => {
    expect(() => parseStorePath(raw)).toThrow(/not a Nix store path/);
  });
});
