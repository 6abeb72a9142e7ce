{ lib, pkgs, buildSystem, hostSystem }:
let
  builders = import ./builders.nix { inherit lib buildSystem; };
  inherit (builders) mkDerivation;

  # A package whose bin/<pname> prints its name and version: enough for closures and diffs.
  mkProgram = { pname, version, deps ? [ ] }: mkDerivation {
    inherit pname version;
    buildCommand = ''
      mkdir -p "$out/bin" "$out/share/${pname}"
      printf '#!/bin/sh\necho "%s %s"\n' "${pname}" "${version}" > "$out/bin/${pname}"
      chmod +x "$out/bin/${pname}"
      printf '%s\n' ${lib.concatMapStringsSep " " (d: "\"${d}\"") deps} > "$out/share/${pname}/deps"
      echo "${hostSystem}" > "$out/share/${pname}/system"
    '';
  };
in
builders // {
  inherit mkProgram;
  stdenv = {
    inherit mkDerivation;
    system = hostSystem;
    hostPlatform = { system = hostSystem; isLinux = true; };
    buildPlatform = { system = buildSystem; isLinux = true; };
  };

  zlib = mkProgram { pname = "zlib"; version = "1.3"; };
  openssl = mkProgram { pname = "openssl"; version = "3.0.12"; deps = [ pkgs.zlib ]; };
  hello = mkProgram { pname = "hello"; version = "2.12.1"; };
  htop = mkProgram { pname = "htop"; version = "3.2.2"; };
  curl = mkProgram { pname = "curl"; version = "8.4.0"; deps = [ pkgs.openssl pkgs.zlib ]; };
  git = mkProgram { pname = "git"; version = "2.42.0"; deps = [ pkgs.curl ]; };
  jq = mkProgram { pname = "jq"; version = "1.7"; };
  vim = mkProgram { pname = "vim"; version = "9.0.2048"; };
  nginx = mkProgram { pname = "nginx"; version = "1.24.0"; deps = [ pkgs.openssl pkgs.zlib ]; };
  postgresql = mkProgram { pname = "postgresql"; version = "15.4"; deps = [ pkgs.openssl ]; };
}
