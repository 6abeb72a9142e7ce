import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { EVAL_SCHEMA_VERSION } from "@hive/core";

const calls: string[][] = [];

vi.mock("@hive/nix", async (original) => ({
  ...(await original<typeof import("@hive/nix")>()),
  runNix: (_program: string, args: readonly string[]) => {
    calls.push([...args]);
    const expression = args.at(-1) ?? "";
    const info = {
      schema: EVAL_SCHEMA_VERSION,
      source: "nixosConfigurations",
      nodes: ["n1"],
      meta: {
        name: "hive",
        description: "",
        machinesFile: null,
        allowApplyAll: true,
        rollout: { canary: null, waves: null, maxFailures: null, soak: null, rollbackOnHalt: false },
        viaCache: null,
      },
    };
    const value = expression.includes("e.info") ? info : expression.includes("e.tags") ? { n1: { tags: [] } } : {};
    return Promise.resolve({ stdout: JSON.stringify(value), stderr: "" });
  },
}));

const { Hive } = await import("./hive.js");

describe("Hive.open", () => {
  it("lets only the hive's own query write a flake's lock file, not the queries beside or after it", async () => {
    // Nix writes flake.lock in place: two writers at once left it empty for one of them to read
    // (a fresh flake failed about one run in 25 under load with "JSON parse error").
    const dir = await mkdtemp(join(tmpdir(), "hive-open-"));
    await writeFile(join(dir, "flake.nix"), "{ outputs = _: { }; }");
    const hive = await Hive.open({ config: dir, cwd: dir, prefetch: ["n1"] });
    const info = calls.find((a) => a.at(-1)?.includes("e.info"));
    const ahead = calls.find((a) => a.at(-1)?.includes("e.eval"));
    expect(info).toBeDefined();
    expect(ahead).toBeDefined();
    expect(info).not.toContain("--no-write-lock-file");
    expect(ahead).toContain("--no-write-lock-file");
    // Later queries (chunks run side by side) never write it either.
    await hive.tags();
    const later = calls.find((a) => a.at(-1)?.includes("e.tags"));
    expect(later).toContain("--no-write-lock-file");
  });
});
