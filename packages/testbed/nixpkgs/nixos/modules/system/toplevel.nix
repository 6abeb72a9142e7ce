{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  shell = import ./shell.nix lib;
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  writeKey = user: keys: shell.writeFile "\"$out/authorized-keys\"/${lib.escapeShellArg user}" keys;
  payloadLinks = lib.concatMapStrings (p: "ln -s ${p} \"$out/payload/${p.outputName}\"\n") config.testbed.payload.outputs
    + lib.concatMapStrings (p: "ln -s ${p} \"$out/payload/host-${p.outputName}\"\n") config.testbed.hostPayload.outputs;

  toplevel = pkgs.runCommand "nixos-system-${config.system.name}-${config.system.nixos.label}" {
    activateScript = config.system.activationScript;
    switchScript = builtins.readFile ./switch-to-configuration.sh;
    passAsFile = [ "activateScript" "switchScript" ];
  } ''
    mkdir -p "$out/bin" "$out/authorized-keys" "$out/payload"
    printf '%s' ${lib.escapeShellArg config.system.nixos.version} > "$out/nixos-version"
    printf '%s' ${lib.escapeShellArg pkgs.system} > "$out/system"
    printf '%s' ${lib.escapeShellArg config.networking.hostName} > "$out/hostname"
    printf '%s' ${lib.escapeShellArg (toString config.system.activationSnippetNames)} > "$out/activation-snippets"
    ln -s ${config.system.build.etc} "$out/etc"
    ln -s ${config.system.path} "$out/sw"
    sed "s|@out@|$out|g" "$activateScriptPath" > "$out/activate"
    sed "s|@out@|$out|g" "$switchScriptPath" > "$out/bin/switch-to-configuration"
    chmod +x "$out/activate" "$out/bin/switch-to-configuration"
    ${lib.concatStrings (lib.mapAttrsToList writeKey config.system.authorizedKeys)}
    ${payloadLinks}
    ${config.system.extraSystemBuilderCmds}
  '';
in
{
  options.system = {
    name = mkOption { type = types.str; default = if config.networking.hostName == "" then "unnamed" else config.networking.hostName; };
    stateVersion = mkOption { type = types.str; default = lib.release; };
    nixos.version = mkOption { type = types.str; default = lib.version; };
    nixos.label = mkOption { type = types.strMatching "[a-zA-Z0-9:_\\.-]*"; default = config.system.nixos.version; };
    extraSystemBuilderCmds = mkOption {
      type = types.lines;
      default = "";
      description = "Shell commands run at the end of the system's build (with $out).";
    };
  };

  config.system.build.toplevel =
    if failedAssertions != [ ]
    then throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failedAssertions}"
    else lib.foldr (w: acc: builtins.trace "warning: ${w}" acc) toplevel config.warnings;
}
