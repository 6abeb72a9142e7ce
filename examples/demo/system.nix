# A NixOS configuration for one demo host, evaluated through the mini nixpkgs the testbed ships
# (the same entry point a real nixpkgs has: nixos/lib/eval-config.nix).
{ nixpkgs, hostName, authorizedKeys }:
(import (nixpkgs + "/nixos/lib/eval-config.nix") {
  system = "x86_64-linux";
  modules = [
    ({ pkgs, lib, ... }: {
      networking.hostName = hostName;
      environment.systemPackages = [ pkgs.hello pkgs.htop ] ++ lib.optional (hostName == "h1") pkgs.nginx;
      environment.etc."motd".text = "Welcome to ${hostName}, deployed from the hive demo.";
      # Keep the deployer's key: a system without it would lock us out, as on NixOS.
      users.users.root.openssh.authorizedKeys.keys = authorizedKeys;
      services.nginx.enable = hostName == "h1";
      system.activationScripts.demo = "echo \"activated ${hostName} at $(date -u +%H:%M:%S)\" > /run/demo-activated";
    })
  ];
}).config.system.build.toplevel
