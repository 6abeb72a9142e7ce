import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hive, hiveJson } from "../support/hive-fixtures.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const hives = readdirSync(examples).filter(
  (d) => existsSync(join(examples, d, "hive.nix")) || existsSync(join(examples, d, "flake.nix")),
);

describe("every example hive", () => {
  it("is found", () => {
    expect(hives).toEqual(expect.arrayContaining(["fleet", "flake"]));
  });

  it.each(hives)("%s works with hive nodes and hive eval", async (name) => {
    const cwd = join(examples, name);
    const rows = await hiveJson<{ name: string }[]>(["nodes", "--json"], { cwd });
    expect(rows.length).toBeGreaterThan(0);
    const names = await hiveJson<string[]>(["eval", "-E", "{ nodes, ... }: builtins.attrNames nodes"], { cwd });
    expect(names).toEqual(rows.map((r) => r.name));
    const drvs = await hive(
      ["eval", "--instantiate", "-E", "{ nodes, lib, ... }: lib.mapAttrs (_: n: n.config.system.build.toplevel) nodes"],
      { cwd },
    );
    expect(drvs.code, drvs.stderr).toBe(0);
    expect(Object.keys(JSON.parse(drvs.stdout) as object)).toEqual(rows.map((r) => r.name));
  });
});
