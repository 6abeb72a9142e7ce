{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  snippetType = types.coercedTo types.str (text: { inherit text; }) (types.submodule {
    options = {
      text = mkOption { type = types.lines; };
      deps = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  });
  snippets = config.system.activationScripts;
  # Snippets in dependency order; names break ties, as NixOS's textClosureMap does.
  ordered =
    let
      visit = state: name:
        if builtins.elem name state.seen then state
        else if !(snippets ? ${name}) then throw "system.activationScripts.${name} is a dependency but is not defined"
        else
          let after = builtins.foldl' visit (state // { seen = state.seen ++ [ name ]; }) snippets.${name}.deps; in
          after // { order = after.order ++ [ name ]; };
    in
    (builtins.foldl' visit { seen = [ ]; order = [ ]; } (builtins.attrNames snippets)).order;
  runSnippet = name: ''
    # snippet ${name}
    _localstatus=0
    (
    ${snippets.${name}.text}
    ) || _localstatus=$?
    if [ "$_localstatus" -ne 0 ]; then
      echo "Activation script snippet ${lib.escapeShellArg name} failed ($_localstatus)" >&2
      _status=$_localstatus
    fi
  '';
in
{
  options.system.activationScripts = mkOption {
    type = types.attrsOf snippetType;
    default = { };
    description = "Shell snippets run at activation, as { text; deps; } or a string.";
  };
  options.system.activationSnippetNames = mkOption {
    type = types.listOf types.str;
    internal = true;
    readOnly = true;
    default = ordered;
  };
  options.system.activationScript = mkOption {
    type = types.str;
    internal = true;
    description = "The body of the system's `activate` program (@out@ is the system's path).";
  };

  # What NixOS's activate does, on a hive testbed host: /etc, authorized keys, the snippets,
  # then /run/current-system. It refuses to run anywhere else, so a test can never switch the
  # machine it runs on.
  config.system.activationScript = ''
    #!/bin/sh
    systemConfig='@out@'
    export PATH=/usr/bin:/bin
    if [ ! -e /etc/ssh/hive-testbed-host ]; then
      echo "activate: not a hive testbed host (no /etc/ssh/hive-testbed-host); refusing to change this machine" >&2
      exit 100
    fi
    _status=0
    mkdir -p /run /etc/ssh/authorized_keys.d

    ln -sfn "$systemConfig/etc" /run/.etc.tmp && mv -T /run/.etc.tmp /run/etc

    for f in "$systemConfig"/authorized-keys/*; do
      [ -e "$f" ] || continue
      u=$(basename "$f")
      cp "$f" "/etc/ssh/authorized_keys.d/.$u.tmp" &&
        chmod 0444 "/etc/ssh/authorized_keys.d/.$u.tmp" &&
        mv -f "/etc/ssh/authorized_keys.d/.$u.tmp" "/etc/ssh/authorized_keys.d/$u" || _status=1
    done

    ${lib.concatMapStrings runSnippet ordered}
    ln -sfn "$systemConfig" /run/.current-system.tmp && mv -T /run/.current-system.tmp /run/current-system
    exit $_status
  '';
}
