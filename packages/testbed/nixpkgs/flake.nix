# The mini nixpkgs as a flake, as nixpkgs is one: `lib` with `nixosSystem`, for tests (and the
# example) that deploy a flake's nixosConfigurations.
{
  description = "hive's mini nixpkgs";
  outputs = { self }: {
    lib = import ./lib // { nixosSystem = import ./nixos/lib/nixos-system.nix; };
    legacyPackages.x86_64-linux = import ./. { system = "x86_64-linux"; };
  };
}
