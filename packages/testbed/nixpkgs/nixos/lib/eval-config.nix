# NixOS's entry point: evaluate a system from modules. Same arguments as nixpkgs' eval-config.nix.
{ system ? null
, pkgs ? null
, modules
, specialArgs ? { }
, baseModules ? import ../modules/module-list.nix
, extraModules ? [ ]
, prefix ? [ ]
, lib ? import ../../lib
, ...
}:
let
  pkgsModule = {
    _file = toString ./eval-config.nix;
    key = "hive-mini-nixpkgs:eval-config";
    config = lib.mkMerge (
      lib.optional (system != null) { nixpkgs.system = lib.mkDefault system; }
      ++ lib.optional (pkgs != null) { nixpkgs.pkgs = lib.mkForce pkgs; }
    );
  };
  evaluated = lib.evalModules {
    modules = baseModules ++ [ pkgsModule ] ++ extraModules ++ modules;
    specialArgs = { modulesPath = toString ../modules; } // specialArgs;
    inherit prefix;
  };
in
evaluated // { inherit (evaluated._module.args) pkgs; }
