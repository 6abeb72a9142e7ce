# An example hive (Colmena's format) for the mini nixpkgs that ships with hive's testbed.
# With a real nixpkgs, point meta.nixpkgs at it instead, e.g. `import <nixpkgs> { ... }`.
#
#   hive nodes                 # from this directory
#   hive nodes --on @web
#   hive eval -E '{ nodes, ... }: nodes.web-1.config.networking.hostName'
{
  meta = {
    name = "example-fleet";
    description = "Two web servers and a database";
    nixpkgs = import ../../packages/testbed/nixpkgs { system = "x86_64-linux"; };
  };

  defaults = { name, pkgs, ... }: {
    networking.hostName = name;
    environment.systemPackages = [ pkgs.htop ];
  };

  web-1 = import ./web.nix;
  web-2 = import ./web.nix;

  db = { pkgs, ... }: {
    deployment.tags = [ "db" ];
    # Run on the deploying machine at upload time; a real hive would ask its password store
    # (e.g. [ "pass" "show" "db/postgres" ]). The key lands in /run/keys, never in the store.
    deployment.keys."postgres-password" = {
      keyCommand = [ "printf" "%s" "example-only-password" ];
    };
    environment.systemPackages = [ pkgs.postgresql ];
  };
}
