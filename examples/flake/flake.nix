# An example hive as a flake (its `colmena` output), for the mini nixpkgs in this repository.
# A real flake takes nixpkgs as an input: `meta.nixpkgs = import nixpkgs { system = ...; };`.
#
#   hive nodes                 # from this directory
{
  outputs = { self }: {
    colmena = {
      meta.nixpkgs = import ../../packages/testbed/nixpkgs { system = "x86_64-linux"; };
      defaults = { name, ... }: { networking.hostName = name; };
      edge-1 = { deployment.tags = [ "edge" ]; deployment.targetHost = "edge-1.example.net"; };
      edge-2 = { deployment.tags = [ "edge" ]; deployment.targetPort = 2222; };
    };
  };
}
