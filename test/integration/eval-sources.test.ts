import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flakeFixture, hive, hiveFixture, hiveJson } from "../support/hive-fixtures.js";

interface NodeRow {
  name: string;
  targetHost: string | null;
  targetPort: number | null;
  targetUser: string | null;
  tags: string[];
}

const names = (rows: NodeRow[]) => rows.map((r) => r.name);

describe("hive sources, as Colmena reads them", () => {
  it("reads a hive.nix that is a function, a __functor set, or uses `network`", async () => {
    expect(names(await hiveJson<NodeRow[]>(["nodes", "-f", join(hiveFixture("function"), "hive.nix")]))).toEqual([
      "alpha",
      "beta",
    ]);
    const functor = await hiveJson<NodeRow[]>(["nodes", "-f", hiveFixture("functor")]);
    expect(functor).toMatchObject([{ name: "gamma", targetUser: null }]);
    expect(names(await hiveJson<NodeRow[]>(["nodes"], { cwd: hiveFixture("network") }))).toEqual(["delta"]);
  });

  it("reads a flake's colmena output, found from a subdirectory", async () => {
    const dir = await flakeFixture("colmena");
    const sub = join(dir, "deep", "er");
    await mkdir(sub, { recursive: true });
    const rows = await hiveJson<NodeRow[]>(["nodes"], { cwd: sub });
    expect(rows).toMatchObject([
      { name: "db", targetPort: 2200, tags: ["colmena-fixture"] },
      { name: "web", targetPort: null, tags: ["colmena-fixture", "web"] },
    ]);
  });

  it("accepts -f as a flake.nix, a directory or a flake URI", async () => {
    const dir = await flakeFixture("colmena");
    for (const f of [join(dir, "flake.nix"), dir, `path:${dir}`]) {
      expect(names(await hiveJson<NodeRow[]>(["nodes", "-f", f])), f).toEqual(["db", "web"]);
    }
  });

  it("prefers flake.nix to hive.nix in the same directory", async () => {
    const dir = await flakeFixture("colmena");
    await writeFile(join(dir, "hive.nix"), 'throw "hive.nix must not be read"');
    expect(names(await hiveJson<NodeRow[]>(["nodes"], { cwd: dir }))).toEqual(["db", "web"]);
  });

  it("reads an evaluated colmenaHive output", async () => {
    const dir = await flakeFixture("colmena-hive");
    const rows = await hiveJson<NodeRow[]>(["nodes", "-f", dir, "--on", "@evaluated,beta"]);
    expect(rows).toMatchObject([
      { name: "alpha", tags: ["evaluated"] },
      { name: "beta", targetHost: "beta.example" },
    ]);
    const value = await hiveJson(["eval", "-f", dir, "-E", "{ nodes, ... }: nodes.beta.config.deployment.targetHost"]);
    expect(value).toBe("beta.example");
  });

  it("refuses uninitialised nixpkgs in a flake, as Colmena does, unless --impure", async () => {
    const dir = await flakeFixture("uninitialised");
    const refused = await hive(["nodes", "-f", dir]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/Passing a path to Nixpkgs as meta\.nixpkgs is not accepted with flakes/);
    expect(refused.stderr).toMatch(/import nixpkgs \{/);
    expect(names(await hiveJson<NodeRow[]>(["nodes", "-f", dir, "--impure"]))).toEqual(["a"]);
  });

  it("says where it looked when there is no hive", async () => {
    const result = await hive(["nodes"], { cwd: "/" });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/no flake\.nix or hive\.nix in \/ or any directory above it/);
    const missing = await hive(["nodes", "-f", "/nonexistent/hive.nix"]);
    expect(missing.stderr).toMatch(/\/nonexistent\/hive\.nix does not exist/);
  });

  it("warns when a flake's git tree is dirty", async () => {
    const dir = await flakeFixture("colmena");
    const git = (args: string[]) => import("../support/run.js").then(({ ok }) => ok("git", ["-C", dir, ...args]));
    await git(["init", "-q"]);
    await git(["add", "."]);
    await git(["-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init"]);
    expect((await hive(["nodes", "--json"], { cwd: dir })).stderr).not.toMatch(/dirty/);
    await writeFile(join(dir, "db.nix"), "{ ... }: { deployment.targetPort = 2300; }\n");
    const dirty = await hive(["nodes", "--json"], { cwd: dir });
    expect(dirty.stderr).toMatch(/hive: warning: git tree at .* is dirty/);
    expect(JSON.parse(dirty.stdout)).toMatchObject([{ name: "db", targetPort: 2300 }, { name: "web" }]);
  });
});
