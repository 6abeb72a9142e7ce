import { describe, expect, it } from "vitest";
import { compareVersions, describeChange, diffClosures, groupChanges, parseName } from "./closure-diff.js";

const p = (name: string, size = 100, hash = "a") => ({ path: `/nix/store/${hash.repeat(32)}-${name}`, size });

describe("parseName", () => {
  it("splits at the first dash not followed by a letter, like builtins.parseDrvName", () => {
    expect(parseName(p("nginx-1.25.3").path)).toEqual({ name: "nginx", version: "1.25.3" });
    expect(parseName(p("nixos-system-web-1-23.11").path)).toEqual({ name: "nixos-system-web", version: "1-23.11" });
    expect(parseName(p("etc").path)).toEqual({ name: "etc", version: "" });
  });
});

describe("compareVersions", () => {
  it("orders as Nix does", () => {
    expect(compareVersions("1.24.0", "1.25.3")).toBe(-1);
    expect(compareVersions("1.10", "1.9")).toBe(1);
    expect(compareVersions("2.3pre1", "2.3")).toBe(-1);
    expect(compareVersions("2.3a", "2.3.1")).toBe(-1);
    expect(compareVersions("1.0", "1.0")).toBe(0);
  });
});

describe("diffClosures", () => {
  it("finds upgrades, downgrades, additions, removals, rebuilds and the size delta", () => {
    const before = [p("nginx-1.24.0", 1000), p("vim-9.1", 500), p("zlib-1.3", 10), p("jq-1.7", 20), p("etc", 5)];
    const after = [
      p("nginx-1.25.3", 1200, "b"),
      p("vim-9.0", 400, "b"),
      p("zlib-1.3", 10),
      p("htop-3.2.2", 50, "b"),
      p("etc", 6, "c"),
    ];
    const diff = diffClosures(before, after);
    expect(diff.changes.map(describeChange)).toEqual([
      "+ htop 3.2.2",
      "- jq 1.7",
      "nginx 1.24.0 -> 1.25.3",
      "vim 9.1 -> 9.0",
    ]);
    expect(diff.changes.find((c) => c.name === "vim")?.kind).toBe("downgraded");
    expect(diff).toMatchObject({ pathsAdded: 4, pathsRemoved: 4, rebuilt: 1, oldSize: 1535, newSize: 1666 });
  });

  it("groups the same change across nodes", () => {
    const before = [p("nginx-1.24.0")];
    const after = [p("nginx-1.25.3", 100, "b")];
    const grouped = groupChanges(
      new Map([
        ["web-1", diffClosures(before, after)],
        ["web-2", diffClosures(before, after)],
        ["db", diffClosures(before, [...after, p("postgresql-15.4")])],
      ]),
    );
    expect(grouped).toEqual([
      { change: "nginx 1.24.0 -> 1.25.3", nodes: ["web-1", "web-2", "db"] },
      { change: "+ postgresql 15.4", nodes: ["db"] },
    ]);
  });
});
