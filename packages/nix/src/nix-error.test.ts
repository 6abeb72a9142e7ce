import { describe, expect, it } from "vitest";
import { summarizeNixError } from "./nix-error.js";

const stderr = `warning: Git tree '/src/fleet' is dirty
error: A definition for option \`deployment.targetPort' is not of type \`null or unsigned integer'. Definition values:
       - In \`/src/fleet/hive.nix:5': "22"

       at /src/lib/modules.nix:10:12:

            9|
           10|   x = throw "...";
             |            ^
(use '--show-trace' to show detailed location information)
`;

describe("summarizeNixError", () => {
  it("keeps the message and the location, drops excerpts, noise and the trace reminder", () => {
    expect(summarizeNixError(stderr)).toBe(
      [
        "error: A definition for option `deployment.targetPort' is not of type `null or unsigned integer'. Definition values:",
        '  - In `/src/fleet/hive.nix:5\': "22"',
        "",
        "  at /src/lib/modules.nix:10:12:",
      ].join("\n"),
    );
  });

  it("keeps the trace when asked, without the dirty-tree noise", () => {
    const full = summarizeNixError(stderr, { showTrace: true });
    expect(full).toContain("10|   x = throw");
    expect(full).not.toContain("is dirty");
  });

  it("falls back to the last lines when there is no error: line", () => {
    expect(summarizeNixError("something\nbroke badly\n")).toBe("something\nbroke badly");
  });
});
