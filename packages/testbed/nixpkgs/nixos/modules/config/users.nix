{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  userOpts = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      description = mkOption { type = types.str; default = ""; };
      uid = mkOption { type = types.nullOr types.int; default = null; };
      isNormalUser = mkOption { type = types.bool; default = false; };
      isSystemUser = mkOption { type = types.bool; default = false; };
      group = mkOption { type = types.str; default = ""; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; };
      home = mkOption { type = types.path; default = if name == "root" then "/root" else "/home/${name}"; };
      shell = mkOption { type = types.nullOr (types.either types.package types.path); default = null; };
      hashedPassword = mkOption { type = types.nullOr types.str; default = null; };
      initialPassword = mkOption { type = types.nullOr types.str; default = null; };
      openssh.authorizedKeys = {
        keys = mkOption { type = types.listOf types.singleLineStr; default = [ ]; };
        keyFiles = mkOption { type = types.listOf types.path; default = [ ]; };
      };
    };
  };
  groupOpts = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      gid = mkOption { type = types.nullOr types.int; default = null; };
      members = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };
in
{
  options.users = {
    mutableUsers = mkOption { type = types.bool; default = true; };
    users = mkOption { type = types.attrsOf (types.submodule userOpts); default = { }; };
    groups = mkOption { type = types.attrsOf (types.submodule groupOpts); default = { }; };
  };
  options.system.authorizedKeys = mkOption {
    type = types.attrsOf types.str;
    internal = true;
    description = "Per user, the authorized_keys file activation writes to /etc/ssh/authorized_keys.d.";
  };
  config.system.authorizedKeys = lib.mapAttrs (_: user:
    lib.concatMapStrings (k: "${k}\n")
      (user.openssh.authorizedKeys.keys ++ map (f: lib.fileContents f) user.openssh.authorizedKeys.keyFiles))
    config.users.users;
}
