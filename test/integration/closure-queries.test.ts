import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStorePath, type StorePath } from "@hive/core";
import { closureOf, NixCommandError } from "@hive/nix";
import { nixEnvironment } from "@hive/testbed";
import { ok } from "../support/run.js";

/** Store paths made by builtins.toFile: `b` and `c` both refer to `a`. */
async function paths(seed: string): Promise<{ a: StorePath; b: StorePath; c: StorePath }> {
  // `nix eval` writes what builtins.toFile makes (nix-instantiate --eval only computes the paths).
  const out = await ok(
    "nix",
    [
      "eval",
      "--json",
      "--expr",
      `let a = builtins.toFile "a-${seed}" "a"; in { a = a; b = builtins.toFile "b-${seed}" "\${a}"; c = builtins.toFile "c-${seed}" "\${a}"; }`,
    ],
    { env: nixEnvironment() },
  );
  const parsed = JSON.parse(out) as Record<"a" | "b" | "c", string>;
  return { a: parseStorePath(parsed.a), b: parseStorePath(parsed.b), c: parseStorePath(parsed.c) };
}

const byPath = (x: StorePath, y: StorePath) => x.localeCompare(y);

describe("closures asked for at the same time", () => {
  // A path that is not valid must fail here, not wait on a binary cache.
  const saved = process.env["NIX_CONFIG"];
  beforeAll(() => {
    process.env["NIX_CONFIG"] = nixEnvironment()["NIX_CONFIG"];
  });
  afterAll(() => {
    if (saved === undefined) delete process.env["NIX_CONFIG"];
    else process.env["NIX_CONFIG"] = saved;
  });

  it("gives each asker its own closure, dependencies first, from one shared query", async () => {
    const { a, b, c } = await paths(`${process.pid}-${Date.now()}`);
    // The first runs at once; the other two ask while it runs and share the next query.
    const closures = await Promise.all([closureOf([b]), closureOf([c]), closureOf([b, c])]);
    expect(closures.map((closure) => closure.map((i) => i.path))).toEqual([
      [a, b],
      [a, c],
      [a, ...[b, c].sort(byPath)],
    ]);
    expect(closures[0][1]?.references).toEqual([a]);
  });

  it("fails only the asker of a path that is not valid", async () => {
    const { a, b, c } = await paths(`bad-${process.pid}-${Date.now()}`);
    const missing = parseStorePath(`/nix/store/${"0".repeat(32)}-not-there`);
    // The shared query fails on the missing path: each then asks alone.
    const [first, second, bad] = await Promise.allSettled([closureOf([b]), closureOf([c]), closureOf([missing])]);
    const value = (r: PromiseSettledResult<{ path: StorePath }[]>): unknown =>
      r.status === "fulfilled" ? r.value.map((i) => i.path) : (r.reason as unknown);
    expect(value(first)).toEqual([a, b]);
    expect(value(second)).toEqual([a, c]);
    expect(bad.status === "rejected" && bad.reason).toBeInstanceOf(NixCommandError);
  });

  it("answers an interrupted asker at once, and the others all the same", async () => {
    const { a, b, c } = await paths(`stop-${process.pid}-${Date.now()}`);
    const stop = new AbortController();
    const running = closureOf([b]);
    const interrupted = closureOf([c], { signal: stop.signal });
    const other = closureOf([c]);
    stop.abort();
    await expect(interrupted).rejects.toMatchObject({ code: "HIVE_INTERRUPTED" });
    expect((await running).map((i) => i.path)).toEqual([a, b]);
    expect((await other).map((i) => i.path)).toEqual([a, c]);
  });
});
