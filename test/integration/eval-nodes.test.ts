import { describe, expect, it } from "vitest";
import { hive, hiveFixture, hiveJson } from "../support/hive-fixtures.js";

const fleet = hiveFixture("fleet");
const evalIn = (expr: string) => hiveJson(["eval", "-E", expr], { cwd: fleet });

describe("a hive written as users write them", () => {
  it("lists every node with target, tags, build location and key names", async () => {
    const rows = await hiveJson(["nodes", "--json"], { cwd: fleet });
    expect(rows).toEqual([
      {
        name: "arm-1",
        targetHost: null,
        targetPort: null,
        targetUser: "root",
        tags: ["ams"],
        build: "local",
        allowLocalDeployment: true,
        keys: [],
      },
      {
        name: "builder",
        targetHost: "builder",
        targetPort: null,
        targetUser: "deploy",
        tags: ["ams"],
        build: "target",
        allowLocalDeployment: false,
        keys: [],
      },
      {
        name: "db-1",
        targetHost: "db-1",
        targetPort: null,
        targetUser: "root",
        tags: ["ams", "db", "primary"],
        build: "local",
        allowLocalDeployment: false,
        keys: ["api-token", "db-password", "tls.key"],
      },
      {
        name: "web-1",
        targetHost: "web-1",
        targetPort: null,
        targetUser: "root",
        tags: ["ams", "web"],
        build: "local",
        allowLocalDeployment: false,
        keys: [],
      },
      {
        name: "web-2",
        targetHost: "web-2",
        targetPort: 2222,
        targetUser: "root",
        tags: ["ams", "web"],
        build: "local",
        allowLocalDeployment: false,
        keys: [],
      },
    ]);
  });

  it("never prints key contents", async () => {
    for (const args of [["nodes", "--json"], ["nodes"], ["nodes", "--on", "db-1", "--json"]]) {
      const result = await hive(args, { cwd: fleet });
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain("s3cret-text-never-printed");
    }
  });

  it("applies defaults, imports, mkDefault/mkForce, special args and cross-references", async () => {
    expect(await evalIn(`{ nodes, lib, ... }: lib.mapAttrs (_: n: n.config.networking.hostName) nodes`)).toEqual({
      "arm-1": "arm-1",
      builder: "builder",
      "db-1": "db-1",
      "web-1": "web-1",
      "web-2": "web-two",
    });
    expect(await evalIn(`{ nodes, ... }: nodes.db-1.config.environment.etc.backends.text`)).toBe("web-1\nweb-two");
    expect(await evalIn(`{ nodes, ... }: map (p: p.name) nodes.web-1.config.environment.systemPackages`)).toEqual([
      "htop-3.2.2",
      "hello-2.12.1",
      "nginx-1.24.0",
    ]);
    expect(await evalIn(`{ nodes, ... }: nodes.web-2.config.services.nginx.virtualHosts`)).toEqual({
      "web-2": { root: "/srv/web-2" },
    });
  });

  it("describes keys of each source without their contents", async () => {
    expect(
      await evalIn(
        `{ nodes, lib, ... }: lib.mapAttrs (_: k: { inherit (k) path user permissions uploadAt; }) nodes.db-1.config.deployment.keys`,
      ),
    ).toEqual({
      "api-token": { path: "/var/keys/api-token", user: "root", permissions: "0600", uploadAt: "post-activation" },
      "db-password": {
        path: "/run/keys/db-password",
        user: "postgres",
        permissions: "0640",
        uploadAt: "pre-activation",
      },
      "tls.key": { path: "/run/keys/tls.key", user: "root", permissions: "0600", uploadAt: "pre-activation" },
    });
  });

  it("evaluates each node through its own nixpkgs", async () => {
    const systems = await evalIn(
      `{ nodes, lib, ... }: lib.mapAttrs (_: n: n.config.system.build.toplevel.system) nodes`,
    );
    expect(systems).toMatchObject({ "arm-1": "aarch64-linux", "web-1": "x86_64-linux" });
    const drvs = await hiveJson<string[]>(
      [
        "eval",
        "--instantiate",
        "-E",
        "{ nodes, ... }: [ nodes.web-1.config.system.build.toplevel nodes.arm-1.config.system.build.toplevel ]",
      ],
      { cwd: fleet },
    );
    expect(drvs).toHaveLength(2);
    for (const drv of drvs) expect(drv).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-.*\.drv$/);
  });

  it("selects with names, globs, @tags and exclusions", async () => {
    const select = async (on: string) =>
      (await hiveJson<{ name: string }[]>(["nodes", "--json", "--on", on], { cwd: fleet })).map((r) => r.name);
    expect(await select("web-*")).toEqual(["web-1", "web-2"]);
    expect(await select("@db,arm-1")).toEqual(["arm-1", "db-1"]);
    expect(await select("@ams,!@web,!builder")).toEqual(["arm-1", "db-1"]);
    expect(await select("@prim*")).toEqual(["db-1"]);
  });

  it("refuses empty items and patterns that match nothing, naming what exists", async () => {
    const empty = await hive(["nodes", "--on", "web-1,,db-1"], { cwd: fleet });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/has an empty item/);
    const nothing = await hive(["nodes", "--on", "web-1,@nosuchtag"], { cwd: fleet });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/--on "@nosuchtag" matches no node/);
    expect(nothing.stderr).toMatch(/hint: nodes: arm-1, builder, db-1, web-1, web-2; tags: @ams, @db, @primary, @web/);
  });

  it("shows a table on a terminal", async () => {
    // `script` gives hive a pseudo-terminal, as a person's shell would.
    const { ok } = await import("../support/run.js");
    const out = await ok("script", [
      "-qec",
      `cd ${fleet} && NIX_PATH= ${process.execPath} ${(await import("../support/paths.js")).hiveBin} nodes --on web-2,builder`,
      "/dev/null",
    ]);
    expect(out).toMatch(/│ node\s+│ target\s+│ tags\s+│ build\s+│ keys\s+│/);
    expect(out).toMatch(/│ builder\s+│ deploy@builder\s+│ ams\s+│ target\s+│/);
    expect(out).toMatch(/│ web-2\s+│ root@web-2:2222\s+│ ams web\s+│ local\s+│/);
  });
});
