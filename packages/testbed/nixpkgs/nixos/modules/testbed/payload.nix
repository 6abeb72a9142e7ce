# Extra store paths in the system closure, for benchmarks: `paths` outputs of `bytes` bytes each.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.testbed.payload;
  names = map (i: "p${toString i}") (lib.range 1 cfg.paths);
  payload = pkgs.mkDerivation {
    name = "testbed-payload-${cfg.seed}";
    outputs = [ "out" ] ++ names;
    buildCommand = ''
      mkdir -p "$out"
      for name in ${toString names}; do
        eval "target=\$$name"
        ${if cfg.compressible
          then ''yes "hive testbed payload ${cfg.seed} $name" | head -c ${toString cfg.bytes} > "$target"''
          else ''head -c ${toString cfg.bytes} /dev/urandom > "$target"''}
        echo "$name" >> "$out/manifest"
      done
    '';
  };
in
{
  options.testbed.payload = {
    paths = mkOption { type = types.ints.unsigned; default = 0; };
    bytes = mkOption { type = types.ints.unsigned; default = 4096; };
    seed = mkOption { type = types.str; default = "0"; description = "Changes every payload path."; };
    compressible = mkOption { type = types.bool; default = false; };
    outputs = mkOption {
      type = types.listOf types.unspecified;
      internal = true;
      readOnly = true;
      default = if cfg.paths == 0 then [ ] else map (n: payload.${n}) names;
    };
  };
}
