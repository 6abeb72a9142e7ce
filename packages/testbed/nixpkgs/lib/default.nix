# The mini nixpkgs library: a fixpoint over small files, like nixpkgs' lib.
let
  lib = builtins.foldl' (acc: file: acc // import file lib) { } [
    ./trivial.nix
    ./lists.nix
    ./attrsets.nix
    ./strings.nix
    ./options.nix
    ./modules.nix
  ]
  // {
    types = import ./types.nix lib;
    trivial = { inherit (lib) version release; };
  };
in
lib
