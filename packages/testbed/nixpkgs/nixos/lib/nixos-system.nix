# nixpkgs' `lib.nixosSystem` (what a flake's nixosConfigurations are made with): the same
# contract, `{ system, modules, specialArgs }` to an evaluated configuration.
{ modules, system ? null, specialArgs ? { }, ... }:
import ./eval-config.nix { inherit modules system specialArgs; }
