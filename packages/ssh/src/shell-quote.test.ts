import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote } from "./shell-quote.js";

// The proof is a real shell: whatever goes in comes back out as one argument each.
const roundTrip = (argv: string[]) =>
  execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${shellQuote(argv)}`], { encoding: "utf8" })
    .split("\0")
    .slice(0, -1);

describe("shellQuote", () => {
  it("leaves plain words alone", () => {
    expect(shellQuote(["nix-store", "--serve", "/nix/store/abc-x", "a=b"])).toBe(
      "nix-store --serve /nix/store/abc-x a=b",
    );
  });

  it.each([
    [["it's", "two words", "$(touch /tmp/hive-pwned)", "`id`", "a;b", "*", "", "new\nline", "back\\slash", "'", "--"]],
    [["-rf", "~", "$HOME", "!x", "a|b", "a&b", "<x>", "é"]],
  ])("keeps hostile words intact through a real shell: %j", (argv) => {
    expect(roundTrip(argv)).toEqual(argv);
  });
});
