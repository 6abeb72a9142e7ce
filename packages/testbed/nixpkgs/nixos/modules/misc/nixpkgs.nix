{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.nixpkgs;
  platformType = types.nullOr (types.either types.str types.attrs);
  systemOf = s: if builtins.isString s then s else s.system or s.config;
  buildSystem =
    if cfg.buildPlatform != null then systemOf cfg.buildPlatform
    else if cfg.hostPlatform != null then systemOf cfg.hostPlatform
    else if cfg.localSystem != null then systemOf cfg.localSystem
    else cfg.system;
  hostSystem =
    if cfg.hostPlatform != null then systemOf cfg.hostPlatform
    else if cfg.crossSystem != null then systemOf cfg.crossSystem
    else buildSystem;
in
{
  options.nixpkgs = {
    system = mkOption {
      type = types.str;
      default = if builtins ? currentSystem then builtins.currentSystem else "x86_64-linux";
      description = "The system the configuration is built on and for.";
    };
    localSystem = mkOption { type = platformType; default = null; };
    crossSystem = mkOption { type = platformType; default = null; };
    hostPlatform = mkOption { type = platformType; default = null; };
    buildPlatform = mkOption { type = platformType; default = null; };
    overlays = mkOption {
      type = types.listOf (types.mkOptionType {
        name = "nixpkgs-overlay";
        description = "nixpkgs overlay";
        check = lib.isFunction;
        merge = lib.mergeOneOption;
      });
      default = [ ];
    };
    config = mkOption {
      type = types.mkOptionType {
        name = "nixpkgs-config";
        description = "nixpkgs config";
        check = builtins.isAttrs;
        merge = _: defs: builtins.foldl' (acc: def: lib.recursiveUpdate acc def.value) { } defs;
      };
      default = { };
    };
    pkgs = mkOption { type = types.nullOr types.raw; default = null; };
  };

  config._module.args.pkgs =
    if cfg.pkgs != null then cfg.pkgs
    else import ../../.. {
      localSystem = { system = buildSystem; };
      crossSystem = if hostSystem == buildSystem then null else { system = hostSystem; };
      inherit (cfg) overlays config;
    };
}
