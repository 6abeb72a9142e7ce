# A mini nixpkgs for hive's tests: the same entry points as nixpkgs (default.nix taking
# system/overlays/config, nixos/lib/eval-config.nix), with packages built by /bin/sh.
{ system ? (if builtins ? currentSystem then builtins.currentSystem else "x86_64-linux")
, localSystem ? { inherit system; }
, crossSystem ? null
, overlays ? [ ]
, config ? { }
, ...
}:
let
  lib = import ./lib;
  systemOf = s: if builtins.isString s then s else s.system or s.config;
  # Derivations are always built on the local system; a cross set only changes what they are for.
  buildSystem = systemOf localSystem;
  hostSystem = if crossSystem == null then buildSystem else systemOf crossSystem;
  base = self: import ./pkgs {
    inherit lib buildSystem hostSystem;
    pkgs = self;
  } // {
    inherit lib overlays config crossSystem;
    path = ./.;
    system = hostSystem;
    localSystem = { system = buildSystem; };
    hostPlatform = { system = hostSystem; isLinux = true; };
    buildPlatform = { system = buildSystem; isLinux = true; };
  };
in
lib.fix (builtins.foldl' (f: overlay: lib.extends overlay f) base overlays)
