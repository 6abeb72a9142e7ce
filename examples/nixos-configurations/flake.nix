# An example flake with nixosConfigurations only, as most NixOS flakes are: hive deploys each
# configuration as a node (`hive nodes`, `hive apply --on web-1` from this directory). A real flake
# takes nixpkgs as an input and uses `nixpkgs.lib.nixosSystem`; this one uses the mini nixpkgs in
# this repository. A host that imports hive's deployment options can set deployment.*; the others
# are reached as their name (an ssh_config alias of that name is all they need).
{
  outputs = { self }:
    let
      nixosSystem = import ../../packages/testbed/nixpkgs/nixos/lib/nixos-system.nix;
      deploymentOptions = ../../packages/eval/assets/deployment-options.nix;
    in {
      nixosConfigurations = {
        web-1 = nixosSystem {
          system = "x86_64-linux";
          modules = [
            deploymentOptions
            { networking.hostName = "web-1"; deployment.tags = [ "web" ]; deployment.targetHost = "web-1.example.net"; }
          ];
        };
        db = nixosSystem {
          system = "x86_64-linux";
          modules = [ { networking.hostName = "db"; } ];
        };
      };
    };
}
