import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HIVE_ERROR_CODES } from "@hive/core";

/** Contracts of the workspace as a whole, checked on its sources. */
const packagesDir = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry) && !/\.test\.ts$/.test(entry) ? [path] : [];
  });
}

// packages/hive has no sources: it is the CLI bundled for installing (scripts/bundle.mjs).
const packages = readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, "src")));
const sources = packages.flatMap((p) => sourceFiles(join(packagesDir, p, "src")).map((file) => ({ pkg: p, file })));

describe("the workspace", () => {
  it("lists in each package.json exactly the packages its sources import", () => {
    for (const pkg of packages) {
      const manifest = JSON.parse(readFileSync(join(packagesDir, pkg, "package.json"), "utf8")) as {
        name: string;
        dependencies?: Record<string, string>;
      };
      const imported = new Set<string>();
      for (const { file } of sources.filter((s) => s.pkg === pkg)) {
        for (const [, spec = ""] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s+"([^".][^"]*)"/g)) {
          if (spec.startsWith("node:")) continue;
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec);
          if (name !== manifest.name) imported.add(name);
        }
      }
      expect([...imported].sort(), `${pkg}: imports vs package.json dependencies`).toEqual(
        Object.keys(manifest.dependencies ?? {}).sort(),
      );
    }
  });

  it("throws every documented error code somewhere, and documents every code it throws", () => {
    const used = new Set<string>();
    for (const { file } of sources) {
      if (/(errors|error-table)\.ts$/.test(file)) continue;
      for (const [code = ""] of readFileSync(file, "utf8").matchAll(/"HIVE_[A-Z_]*[A-Z]"/g))
        used.add(code.slice(1, -1));
    }
    // Environment variables hive reads share the prefix; they are not error codes.
    used.delete("HIVE_NO_COMPILE_CACHE");
    const documented = new Set<string>(HIVE_ERROR_CODES);
    expect(
      [...documented].filter((c) => !used.has(c)),
      "documented but never used",
    ).toEqual([]);
    expect(
      [...used].filter((c) => !documented.has(c)),
      "used but not documented",
    ).toEqual([]);
  });
  it("makes the installable package from the CLI: same version, nothing to fetch, bin hive", () => {
    const read = (pkg: string) =>
      JSON.parse(readFileSync(join(packagesDir, pkg, "package.json"), "utf8")) as Record<string, unknown>;
    const cli = read("cli");
    const hive = read("hive");
    expect(hive["name"]).toBe("hive");
    expect(hive["version"]).toBe(cli["version"]);
    expect(hive["engines"]).toEqual(cli["engines"]);
    expect(hive["dependencies"]).toBeUndefined();
    expect(hive["bin"]).toEqual({ hive: "./dist/hive.mjs" });
  });
});
