import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveHiveSource } from "./hive-source.js";

async function tree(files: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "hive-source-"));
  for (const f of files) {
    await mkdir(join(root, f, ".."), { recursive: true });
    await writeFile(join(root, f), "{}");
  }
  return root;
}

describe("resolveHiveSource", () => {
  it("searches upward, preferring flake.nix to hive.nix in each directory", async () => {
    const root = await tree(["flake.nix", "hive.nix", "sub/hive.nix", "sub/deeper/x"]);
    expect(resolveHiveSource({ cwd: join(root, "sub", "deeper") })).toEqual({
      kind: "file",
      path: join(root, "sub", "hive.nix"),
    });
    expect(resolveHiveSource({ cwd: root })).toEqual({ kind: "flake", ref: root, dir: root });
  });

  it("takes -f as a file, a flake.nix, a directory or a flake URI", async () => {
    const root = await tree(["a/hive.nix", "b/flake.nix", "c/custom.nix"]);
    expect(resolveHiveSource({ cwd: root, config: "a" })).toEqual({ kind: "file", path: join(root, "a", "hive.nix") });
    expect(resolveHiveSource({ cwd: root, config: "b/flake.nix" })).toEqual({
      kind: "flake",
      ref: join(root, "b"),
      dir: join(root, "b"),
    });
    expect(resolveHiveSource({ cwd: root, config: "c/custom.nix" })).toEqual({
      kind: "file",
      path: join(root, "c", "custom.nix"),
    });
    expect(resolveHiveSource({ cwd: root, config: "github:owner/fleet" })).toEqual({
      kind: "flake",
      ref: "github:owner/fleet",
      dir: undefined,
    });
  });

  it("says what is wrong with -f", async () => {
    const root = await tree(["empty/x"]);
    expect(() => resolveHiveSource({ cwd: root, config: "empty" })).toThrow(
      /holds neither a flake\.nix nor a hive\.nix/,
    );
    expect(() => resolveHiveSource({ cwd: root, config: "nope.nix" })).toThrow(/nope\.nix does not exist/);
  });
});
