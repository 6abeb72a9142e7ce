# NixOS namespaces that the mini nixpkgs does not model: their definitions are kept as data,
# and a module may still declare its own options inside them (e.g. services.myapp.enable).
{ lib, ... }:
let
  free = { _freeformElem = lib.types.anything; };
in
{
  options = lib.genAttrs [
    "services" "boot" "fileSystems" "swapDevices" "time" "i18n" "nix" "programs" "security"
    "virtualisation" "documentation" "hardware" "systemd" "console" "fonts" "xdg" "sound"
    "powerManagement" "zramSwap" "location" "containers" "sops" "age"
  ] (_: free);
}
