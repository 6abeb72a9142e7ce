import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { compileCacheDir, openCompileCache, saveCompileCache } from "./compile-cache.js";

describe("the compile cache", () => {
  let work: string;
  let bundle: string;
  let dir: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), "hive-compile-cache-"));
    bundle = join(work, "hive.cjs");
    writeFileSync(bundle, "module.exports = 1;\n");
    dir = join(work, "cache", "hive", "v8");
  });

  const open = (command: string) => {
    const cache = openCompileCache(bundle, command, dir);
    if (cache === undefined) throw new Error("no cache for this bundle");
    return cache;
  };

  it("lives in XDG_CACHE_HOME, else ~/.cache, and is off when asked", () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/home/a" })).toBe("/x/hive/v8");
    expect(compileCacheDir({ HOME: "/home/a" })).toBe("/home/a/.cache/hive/v8");
    // A relative XDG_CACHE_HOME is ignored, as the spec says.
    expect(compileCacheDir({ XDG_CACHE_HOME: "rel", HOME: "/home/a" })).toBe("/home/a/.cache/hive/v8");
    expect(compileCacheDir({})).toBeUndefined();
    expect(compileCacheDir({ HOME: "/home/a", HIVE_NO_COMPILE_CACHE: "1" })).toBeUndefined();
  });

  it("hands back what a run saved, per command, in a directory only this user can write", () => {
    const first = open("apply");
    expect(first.data).toBeUndefined();
    saveCompileCache(first, Buffer.from("compiled"));
    expect(openCompileCache(bundle, "apply", dir)?.data?.toString()).toBe("compiled");
    expect(openCompileCache(bundle, "nodes", dir)?.data).toBeUndefined();
    // Not a command name (an option, or anything odd): one shared file, never a path of its own.
    expect(openCompileCache(bundle, "../../x", dir)?.file).toBe(openCompileCache(bundle, "--version", dir)?.file);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it("never reads a cache others could have written, or one behind a link", () => {
    saveCompileCache(open("apply"), Buffer.from("compiled"));
    const file = open("apply").file;
    chmodSync(file, 0o620);
    expect(openCompileCache(bundle, "apply", dir)?.data).toBeUndefined();
    chmodSync(file, 0o600);
    chmodSync(dir, 0o770);
    expect(openCompileCache(bundle, "apply", dir)?.data).toBeUndefined();
    // Nor is anything written there.
    saveCompileCache(open("nodes"), Buffer.from("compiled"));
    expect(readdirSync(dir).filter((f) => f.includes("nodes"))).toEqual([]);
    chmodSync(dir, 0o700);
    chownSync(file, 65534, 65534);
    expect(openCompileCache(bundle, "apply", dir)?.data).toBeUndefined();

    const elsewhere = join(work, "planted");
    writeFileSync(elsewhere, "planted");
    const linked = open("status").file;
    symlinkSync(elsewhere, linked);
    expect(openCompileCache(bundle, "status", dir)?.data).toBeUndefined();
  });

  it("is another file once the bundle changes; the old bundle's files go a day after their last write", () => {
    saveCompileCache(open("apply"), Buffer.from("old"));
    const old = open("apply").file;
    writeFileSync(bundle, "module.exports = 2;\n");
    utimesSync(bundle, new Date(), new Date(Date.now() + 5000));
    const upgraded = open("apply");
    expect(upgraded.data).toBeUndefined();
    saveCompileCache(upgraded, Buffer.from("new"));
    // Two installs used in turn keep their own.
    expect(readdirSync(dir).sort()).toEqual([old, upgraded.file].map((f) => f.slice(dir.length + 1)).sort());
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
    utimesSync(old, dayAgo, dayAgo);
    saveCompileCache(upgraded, Buffer.from("new"));
    expect(readdirSync(dir)).toEqual([upgraded.file.slice(dir.length + 1)]);
  });

  it("keeps sixteen files at most, the newest", () => {
    for (let i = 0; i < 20; i++) {
      const cache = open(`command-${String.fromCharCode(97 + i)}`);
      saveCompileCache(cache, Buffer.from(String(i)));
      utimesSync(cache.file, new Date(), new Date(Date.now() - (20 - i) * 1000));
    }
    const kept = readdirSync(dir);
    expect(kept).toHaveLength(16);
    expect(kept.some((f) => f.endsWith("command-a.v8"))).toBe(false);
    expect(kept.some((f) => f.endsWith("command-t.v8"))).toBe(true);
  });

  it("is only slower when it cannot be written", () => {
    mkdirSync(join(work, "cache"), { recursive: true });
    writeFileSync(join(work, "cache", "hive"), "a file where the directory goes");
    const cache = open("apply");
    expect(() => saveCompileCache(cache, Buffer.from("x"))).not.toThrow();
  });
});
