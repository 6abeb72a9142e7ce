import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flakeFixture, hive, hiveFixture, hiveJson } from "../support/hive-fixtures.js";

const fleet = hiveFixture("fleet");

describe("hive eval, introspect, repl and nix-info", () => {
  it("evaluates a function from a file, with introspect as an alias", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "hive-introspect-")), "q.nix");
    await writeFile(
      file,
      "{ nodes, pkgs, lib }: { names = builtins.attrNames nodes; hello = pkgs.hello.version; id = lib.id 1; }\n",
    );
    const expected = { names: ["arm-1", "builder", "db-1", "web-1", "web-2"], hello: "2.12.1", id: 1 };
    expect(await hiveJson(["eval", file], { cwd: fleet })).toEqual(expected);
    expect(await hiveJson(["introspect", file], { cwd: fleet })).toEqual(expected);
  });

  it("needs exactly one of FILE and -E", async () => {
    const neither = await hive(["eval"], { cwd: fleet });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/takes a FILE or -E EXPR \(exactly one\)/);
  });

  it("passes --nix-option and --impure through to Nix", async () => {
    const system = await hiveJson(
      ["eval", "--impure", "--nix-option", "system", "riscv64-linux", "-E", "_: builtins.currentSystem"],
      { cwd: fleet },
    );
    expect(system).toBe("riscv64-linux");
    const odd = await hive(["eval", "--nix-option", "system", "-E", "_: 1"], { cwd: fleet });
    expect(odd.code).toBe(2);
  });

  it("opens nix repl with nodes, pkgs and lib", async () => {
    const result = await hive(["repl"], {
      cwd: fleet,
      input: "nodes.web-2.config.networking.hostName\npkgs.hello.name\nlib.id 41\n",
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/"web-two"/);
    expect(result.stdout).toMatch(/"hello-2\.12\.1"/);
    expect(result.stdout).toMatch(/\b41\b/);
  });

  it("opens the repl on a flake too", async () => {
    const result = await hive(["repl"], { cwd: await flakeFixture("colmena"), input: "builtins.attrNames nodes\n" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/"db".*"web"/);
  });

  it("reports the local Nix and what hive needs", async () => {
    const info = await hiveJson<{ version: string; system: string; missing: string[] }>(["nix-info", "--json"]);
    expect(info.version).toMatch(/^2\.\d+/);
    expect(info.system).toBe("x86_64-linux");
    expect(info.missing).toEqual([]);
    const text = await hive(["nix-info"]);
    expect(text.stdout).toMatch(/^nix version\s+2\.\d+/m);
    expect(text.stdout).toMatch(/^missing\s+nothing$/m);
  });
});
