{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.environment = {
    _freeformElem = types.anything;
    systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Packages installed in the system profile (the system's sw/).";
    };
    variables = mkOption { type = types.attrsOf (types.either types.str (types.listOf types.str)); default = { }; };
    shellAliases = mkOption { type = types.attrsOf types.str; default = { }; };
  };
  options.system.path = mkOption { type = types.package; internal = true; };
  config.system.path = pkgs.symlinkJoin {
    name = "system-path";
    paths = config.environment.systemPackages ++ config.testbed.tools;
  };
}
