# Extra store paths in the system closure, for benchmarks: `paths` outputs of `bytes` bytes each.
# `testbed.payload` is what hosts share (same seed, same paths); `testbed.hostPayload` is a host's
# own (its seed defaults to the host name), so fleets can look as real ones do: a shared base plus
# per-host paths.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  payloadOf = cfg:
    let
      names = map (i: "p${toString i}") (lib.range 1 cfg.paths);
      drv = pkgs.mkDerivation {
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
    if cfg.paths == 0 then [ ] else map (n: drv.${n}) names;
  payloadOptions = seed: cfg: {
    paths = mkOption { type = types.ints.unsigned; default = 0; };
    bytes = mkOption { type = types.ints.unsigned; default = 4096; };
    seed = mkOption { type = types.str; default = seed; description = "Changes every payload path."; };
    compressible = mkOption { type = types.bool; default = false; };
    outputs = mkOption {
      type = types.listOf types.unspecified;
      internal = true;
      readOnly = true;
      default = payloadOf cfg;
    };
  };
in
{
  options.testbed.payload = payloadOptions "0" config.testbed.payload;
  options.testbed.hostPayload = payloadOptions "host-${config.networking.hostName}" config.testbed.hostPayload;
}
