# Trivial builders in the shape of nixpkgs' (runCommand, writeText, ...), using /bin/sh.
{ lib, buildSystem }:
let
  toolPath = "/usr/bin:/bin";
  mkDerivation = { pname ? null, version ? null, name ? "${pname}-${version}", buildCommand, meta ? { }, passthru ? { }, ... }@attrs:
    let
      drv = derivation (removeAttrs attrs [ "meta" "passthru" "pname" "version" ] // {
        inherit name buildCommand;
        system = buildSystem;
        builder = "/bin/sh";
        args = [ "-e" "-c" ". \"$buildCommandPath\"" ];
        passAsFile = [ "buildCommand" ] ++ (attrs.passAsFile or [ ]);
        PATH = toolPath;
      } // lib.optionalAttrs (pname != null) { inherit pname; } // lib.optionalAttrs (version != null) { inherit version; });
    in
    drv // passthru // {
      inherit meta;
      overrideAttrs = f: mkDerivation (attrs // (if lib.isFunction f then f attrs else f));
    } // lib.optionalAttrs (pname != null) { inherit pname version; };

  runCommand = name: env: buildCommand: mkDerivation (env // { inherit name buildCommand; });
in
lib.fix (self: {
  inherit mkDerivation runCommand;
  runCommandLocal = runCommand;
  writeTextFile = { name, text, executable ? false, destination ? "" }:
    runCommand name { inherit text; passAsFile = [ "text" ]; } ''
      target="$out${destination}"
      mkdir -p "$(dirname "$target")"
      cp "$textPath" "$target"
      ${lib.optionalString executable ''chmod +x "$target"''}
    '';
  writeText = name: text: self.writeTextFile { inherit name text; };
  writeTextDir = path: text: self.writeTextFile {
    inherit text;
    name = builtins.baseNameOf path;
    destination = "/${path}";
  };
  writeShellScript = name: text: self.writeTextFile {
    inherit name;
    executable = true;
    text = "#!/bin/sh\n${text}";
  };
  writeShellScriptBin = name: text: self.writeTextFile {
    inherit name;
    executable = true;
    destination = "/bin/${name}";
    text = "#!/bin/sh\n${text}";
  };
  symlinkJoin = { name, paths }: runCommand name { } ''
    mkdir -p "$out"
    for p in ${lib.concatMapStringsSep " " (p: "\"${p}\"") paths}; do
      (cd "$p" && find . -type d -exec mkdir -p "$out/{}" \; && find . ! -type d -exec ln -sf "$p/{}" "$out/{}" \;)
    done
  '';
})
