{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.networking = {
    _freeformElem = types.anything;
    hostName = mkOption {
      type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
      default = "nixos";
      description = "The name of the machine.";
    };
    domain = mkOption { type = types.nullOr types.str; default = null; };
    fqdn = mkOption {
      type = types.str;
      readOnly = true;
      default =
        if config.networking.domain != null
        then "${config.networking.hostName}.${config.networking.domain}"
        else config.networking.hostName;
    };
  };
}
