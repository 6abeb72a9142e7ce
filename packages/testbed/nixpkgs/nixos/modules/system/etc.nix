{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  shell = import ./shell.nix lib;
  etcOpts = { name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      target = mkOption { type = types.str; default = name; };
      text = mkOption { type = types.nullOr types.lines; default = null; };
      source = mkOption { type = types.nullOr types.path; default = null; };
      mode = mkOption { type = types.str; default = "symlink"; };
    };
  };
  entries = lib.filter (e: e.enable) (builtins.attrValues config.environment.etc);
  install = e:
    let target = "\"$out\"/${lib.escapeShellArg e.target}"; in
    if e.source != null then ''
      mkdir -p "$(dirname ${target})"
      ${if e.mode == "symlink" then "ln -s" else "cp"} ${lib.escapeShellArg "${e.source}"} ${target}
    ''
    else if e.text != null then shell.writeFile target e.text
    else throw "environment.etc.${lib.showOption [ e.target ]}: neither text nor source is set";
  chmod = e: lib.optionalString (e.mode != "symlink") "chmod ${lib.escapeShellArg e.mode} \"$out\"/${lib.escapeShellArg e.target}\n";
in
{
  options.environment.etc = mkOption {
    type = types.attrsOf (types.submodule etcOpts);
    default = { };
    description = "Files of the system's /etc (written under /run/etc on a testbed host).";
  };
  options.system.build = mkOption {
    type = types.lazyAttrsOf types.unspecified;
    default = { };
    description = "Derivations that make up the system.";
  };
  config.system.build.etc = pkgs.runCommand "etc" { } ''
    mkdir -p "$out"
    ${lib.concatMapStrings install entries}
    ${lib.concatMapStrings chmod entries}
  '';
}
