import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evalNix, evalNixError } from "../support/nix-eval.js";

const moduleDir = mkdtemp(join(tmpdir(), "hive-modules-"));
afterAll(async () => {
  await rm(await moduleDir, { recursive: true, force: true });
});

/** Writes a module to a file of its own, so that errors can name it. */
async function moduleFile(name: string, text: string): Promise<string> {
  const path = join(await moduleDir, name);
  await writeFile(path, text);
  return path;
}

const intOption = `{ options.n = mkOption { type = types.int; default = 1; }; }`;
const listOption = `{ options.l = mkOption { type = types.listOf types.str; default = [ ]; }; }`;

describe("mini nixpkgs module system", () => {
  it("resolves priorities as nixpkgs does", async () => {
    expect(await evalNix(`(eval [ ${intOption} ]).n`)).toBe(1);
    expect(await evalNix(`(eval [ ${intOption} { n = lib.mkDefault 5; } ]).n`)).toBe(5);
    expect(await evalNix(`(eval [ ${intOption} { n = lib.mkDefault 5; } { n = 7; } ]).n`)).toBe(7);
    expect(await evalNix(`(eval [ ${intOption} { n = 7; } { n = lib.mkForce 9; } ]).n`)).toBe(9);
    expect(await evalNix(`(eval [ ${intOption} { n = lib.mkOverride 10 3; } { n = lib.mkForce 9; } ]).n`)).toBe(3);
    // The default is itself a definition at mkOptionDefault priority.
    expect(await evalNix(`(eval [ ${listOption} { l = lib.mkOptionDefault [ "x" ]; } ]).l`)).toEqual(["x"]);
    expect(await evalNix(`(eval [ ${listOption} { l = lib.mkOptionDefault [ "x" ]; } { l = [ "y" ]; } ]).l`)).toEqual([
      "y",
    ]);
  });

  it("applies mkIf and mkMerge, also pushed down through attribute sets", async () => {
    const mod = `{ options.a = mkOption { type = types.int; default = 0; }; options.b = mkOption { type = types.int; default = 0; }; }`;
    expect(
      await evalNix(
        `eval [ ${mod} (lib.mkIf false { a = 1; }) (lib.mkMerge [ { b = 2; } (lib.mkIf true { a = 3; }) ]) ]`,
      ),
    ).toEqual({ a: 3, b: 2 });
    expect(await evalNix(`eval [ ${mod} ({ config, ... }: { b = lib.mkIf (config.a > 0) 5; }) { a = 1; } ]`)).toEqual({
      a: 1,
      b: 5,
    });
  });

  it("concatenates lists in mkBefore / default / mkAfter order", async () => {
    expect(
      await evalNix(
        `(eval [ ${listOption} { l = lib.mkAfter [ "z" ]; } { l = [ "m" ]; } { l = lib.mkBefore [ "a" ]; } ]).l`,
      ),
    ).toEqual(["a", "m", "z"]);
  });

  it("follows imports, once per file, and passes module arguments", async () => {
    const result = await evalNix(`
      let
        shared = ${await moduleFile("shared.nix", `{ lib, ... }: { options.count = lib.mkOption { type = lib.types.listOf lib.types.str; default = []; }; config.count = [ "shared" ]; }`)};
      in (lib.evalModules {
        specialArgs = { site = "ams"; };
        modules = [
          { imports = [ shared { imports = [ shared ]; } ]; }
          ({ config, lib, site, options, ... }: { options.where = lib.mkOption { type = types.str; }; config.where = site + "-" + toString (builtins.length config.count); })
        ];
      }).config`);
    expect(result).toEqual({ count: ["shared"], where: "ams-1" });
  });

  it("merges submodules in attrsOf across modules, with their name", async () => {
    const result = await evalNix(`
      (eval [
        { options.keys = mkOption { type = types.attrsOf (types.submodule ({ name, config, ... }: {
            options.name = mkOption { type = types.str; default = name; };
            options.path = mkOption { type = types.str; default = "/run/keys/" + config.name; };
            options.mode = mkOption { type = types.str; default = "0600"; };
          })); default = { }; }; }
        { keys.a.mode = "0640"; }
        { keys.a.name = "renamed"; keys.b = { }; }
        { keys.c = lib.mkIf false { }; }
      ]).keys`);
    expect(result).toEqual({
      a: { name: "renamed", path: "/run/keys/renamed", mode: "0640" },
      b: { name: "b", path: "/run/keys/b", mode: "0600" },
    });
  });

  it("merges types: nullOr, enum, either, addCheck, anything, unspecified", async () => {
    const result = await evalNix(`
      eval [
        { options = {
            a = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
            b = mkOption { type = types.enum [ "x" "y" ]; default = "x"; };
            c = mkOption { type = types.either types.int types.str; };
            d = mkOption { type = types.addCheck types.int (n: lib.mod n 2 == 0); };
            e = mkOption { type = types.anything; };
            f = mkOption { type = types.unspecified; };
          }; }
        { a = 22; b = "y"; c = "s"; d = 4; e.x.y = 1; f = [ 1 ]; }
        { e.x.z = [ true ]; f = [ 2 ]; }
      ]`);
    expect(result).toEqual({ a: 22, b: "y", c: "s", d: 4, e: { x: { y: 1, z: [true] } }, f: [1, 2] });
  });

  it("names the option and the file in type errors", async () => {
    const error = await evalNixError(`
      (eval [
        { options.deployment.targetPort = mkOption { type = types.nullOr types.ints.unsigned; default = null; }; }
        ${await moduleFile("node.nix", `{\n  deployment.targetPort = "22";\n}`)}
      ]).deployment.targetPort`);
    expect(error).toMatch(/A definition for option `deployment\.targetPort' is not of type `null or unsigned integer/);
    expect(error).toMatch(/In `\/.*\/node\.nix:2': "22"/);

    const inSubmodule = await evalNixError(`
      (eval [
        { options.keys = mkOption { type = types.attrsOf (types.submodule { options.user = mkOption { type = types.str; }; }); }; }
        { keys."db password".user = 0; }
      ]).keys`);
    expect(inSubmodule).toMatch(/option `keys\."db password"\.user' is not of type `string'/);

    expect(
      await evalNixError(`(eval [ { options.e = mkOption { type = types.enum [ "a" ]; }; } { e = "b"; } ]).e`),
    ).toMatch(/not of type `one of "a"'/);
  });

  it("reports conflicts, unknown options and misuse clearly", async () => {
    expect(await evalNixError(`(eval [ ${intOption} { n = 2; } { n = 3; } ]).n`)).toMatch(
      /The option `n' has conflicting definition values/,
    );
    expect(await evalNixError(`(eval [ ${intOption} { m = 2; } ]).n`)).toMatch(/The option `m' does not exist/);
    expect(await evalNixError(`(eval [ { options.x = mkOption { type = types.str; }; } ]).x`)).toMatch(
      /The option `x' is used but not defined/,
    );
    expect(await evalNixError(`(eval [ ${intOption} { n = 1; extra = 2; config = { }; } ]).n`)).toMatch(
      /unsupported attribute `extra'/,
    );
    expect(
      await evalNixError(
        `(eval [ { options.r = mkOption { type = types.int; readOnly = true; }; } { r = 1; } { r = 2; } ]).r`,
      ),
    ).toMatch(/read-only, but it's set multiple times/);
  });

  it("has the everyday lib helpers", async () => {
    const result = await evalNix(`{
      mapped = lib.mapAttrs (n: v: v + 1) { a = 1; };
      filtered = lib.filterAttrs (n: v: v > 1) { a = 1; b = 2; };
      optional = lib.optional true "x" ++ lib.optional false "y";
      optionalAttrs = lib.optionalAttrs false { a = 1; } // lib.optionalAttrs true { b = 2; };
      gen = lib.genAttrs [ "x" "y" ] (n: n + n);
      joined = lib.concatStringsSep "," [ "a" "b" ];
      newer = lib.versionAtLeast "24.05" "23.11";
      assertion = lib.assertMsg true "never";
      recursive = lib.recursiveUpdate { a.b = 1; a.c = 2; } { a.b = 3; };
      split = lib.splitString "." "a.b.c";
      escaped = lib.escapeShellArg "it's";
    }`);
    expect(result).toEqual({
      mapped: { a: 2 },
      filtered: { b: 2 },
      optional: ["x"],
      optionalAttrs: { b: 2 },
      gen: { x: "xx", y: "yy" },
      joined: "a,b",
      newer: true,
      assertion: true,
      recursive: { a: { b: 3, c: 2 } },
      split: ["a", "b", "c"],
      escaped: "'it'\\''s'",
    });
    expect(await evalNixError(`lib.assertMsg false "the message"`)).toMatch(/the message/);
  });
});

describe("mini nixpkgs NixOS evaluation", () => {
  it("evaluates a node with pkgs from nixpkgs.* options, overlays and freeform namespaces", async () => {
    const result = await evalNix(`
      let node = nixos [ ({ pkgs, lib, config, ... }: {
        nixpkgs.overlays = [ (final: prev: { hello = prev.mkProgram { pname = "hello"; version = "9.9"; }; }) ];
        environment.systemPackages = [ pkgs.hello pkgs.htop ];
        services.nginx.enable = true;
        services.nginx.virtualHosts."a.example".root = "/srv";
        networking.firewall.allowedTCPPorts = [ 80 ];
        boot.loader.grub.device = "nodev";
        system.stateVersion = "24.05";
      }) { options.services.myapp.enable = lib.mkEnableOption "myapp"; config.services.myapp.enable = true; } ];
      in {
        packages = map (p: p.name) node.config.environment.systemPackages;
        nginx = node.config.services.nginx;
        myapp = node.config.services.myapp.enable;
        firewall = node.config.networking.firewall;
        system = node.pkgs.system;
        drvSystem = node.config.system.build.toplevel.system;
      }`);
    expect(result).toEqual({
      packages: ["hello-9.9", "htop-3.2.2"],
      nginx: { enable: true, virtualHosts: { "a.example": { root: "/srv" } } },
      myapp: true,
      firewall: { allowedTCPPorts: [80] },
      system: "x86_64-linux",
      drvSystem: "x86_64-linux",
    });
  });

  it("builds foreign-system nodes with foreign drvs and cross nodes with local ones", async () => {
    const result = await evalNix(`
      let
        foreign = import (np + "/nixos/lib/eval-config.nix") { system = "aarch64-linux"; modules = [ ]; };
        cross = nixos [ { nixpkgs.crossSystem = "aarch64-linux"; } ];
      in {
        foreign = foreign.config.system.build.toplevel.system;
        cross = cross.config.system.build.toplevel.system;
        crossHost = cross.pkgs.system;
      }`);
    expect(result).toEqual({ foreign: "aarch64-linux", cross: "x86_64-linux", crossHost: "aarch64-linux" });
  });

  it("fails the toplevel on a failed assertion", async () => {
    const error = await evalNixError(
      `(nixos [ { assertions = [ { assertion = false; message = "disk layout is wrong"; } ]; } ]).config.system.build.toplevel.drvPath`,
    );
    expect(error).toMatch(/Failed assertions:\s*- disk layout is wrong/);
  });

  it("accepts a hive's usual ways to pass nixpkgs", async () => {
    const result = await evalNix(`
      let
        pkgs = import np { system = "x86_64-linux"; overlays = [ (final: prev: { marker = "from-overlay"; }) ]; };
        node = import (pkgs.path + "/nixos/lib/eval-config.nix") { inherit (pkgs) system; modules = [ { nixpkgs.pkgs = pkgs; } ]; };
      in { marker = node.pkgs.marker; version = lib.versionAtLeast lib.version "22.11pre"; hasPath = builtins.pathExists (pkgs.path + "/nixos/lib/eval-config.nix"); }`);
    expect(result).toEqual({ marker: "from-overlay", version: true, hasPath: true });
  });
});
