# hive's deployment options: Colmena's `deployment.*` (same names, types and defaults) and hive's
# extensions. hive's evaluator adds this module to every node of a Colmena hive. Import it in a
# `nixosConfigurations` host to set deployment options there:
#
#   nixpkgs.lib.nixosSystem { modules = [ "${hive}/assets/deployment-options.nix" ./host.nix ]; }
#
# where `hive` is this package (a flake input, or a path). The target defaults to the node's name:
# the `name` module argument in a hive, `networking.hostName` in a nixosConfiguration.
{ lib, config, ... }@args:
let
  inherit (lib) mkOption types;
  keyType = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      text = mkOption { type = types.nullOr types.str; default = null; };
      keyFile = mkOption { type = types.nullOr types.path; default = null; apply = v: if v == null then null else toString v; };
      keyCommand = mkOption { type = types.nullOr (types.addCheck (types.listOf types.str) (l: l != [ ])); default = null; };
      destDir = mkOption { type = types.path; default = "/run/keys"; };
      path = mkOption { type = types.path; default = "${config.destDir}/${config.name}"; internal = true; };
      user = mkOption { type = types.str; default = "root"; };
      group = mkOption { type = types.str; default = "root"; };
      permissions = mkOption { type = types.str; default = "0600"; };
      uploadAt = mkOption { type = types.enum [ "pre-activation" "post-activation" ]; default = "pre-activation"; };
    };
  };
  # hive extension: checks run after an activation and before it is confirmed.
  healthCheckType = { ... }: {
    options = {
      name = mkOption { type = types.str; };
      cmd = mkOption { type = types.nullOr (types.listOf types.str); default = null; };
      http = mkOption { type = types.nullOr types.str; default = null; };
      from = mkOption { type = types.enum [ "deployer" "host" ]; default = "deployer"; };
      status = mkOption { type = types.ints.unsigned; default = 200; };
      body = mkOption { type = types.nullOr types.str; default = null; };
      timeout = mkOption { type = types.ints.unsigned; default = 10; };
      retries = mkOption { type = types.ints.unsigned; default = 3; };
      interval = mkOption { type = types.ints.unsigned; default = 2; };
      initialDelay = mkOption { type = types.ints.unsigned; default = 0; };
    };
  };
  # hive extension: where peers reach this host's sshd to copy store paths to it, and with whom.
  fanOutType = { ... }: {
    options = {
      address = mkOption { type = types.str; };
      port = mkOption { type = types.ints.unsigned; default = 22; };
      group = mkOption { type = types.str; default = "default"; };
    };
  };
in
{
  options.deployment = {
    targetHost = mkOption { type = types.nullOr types.str; default = args.name or config.networking.hostName; };
    targetPort = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
    targetUser = mkOption { type = types.nullOr types.str; default = "root"; };
    allowLocalDeployment = mkOption { type = types.bool; default = false; };
    buildOnTarget = mkOption { type = types.bool; default = false; };
    tags = mkOption { type = types.listOf types.str; default = [ ]; };
    keys = mkOption { type = types.attrsOf (types.submodule keyType); default = { }; };
    replaceUnknownProfiles = mkOption { type = types.bool; default = true; };
    privilegeEscalationCommand = mkOption { type = types.listOf types.str; default = [ "sudo" "-H" "--" ]; };
    sshOptions = mkOption { type = types.listOf types.str; default = [ ]; };
    # hive extension: roll back a switch hive cannot confirm over a new connection.
    magicRollback = mkOption { type = types.bool; default = true; };
    # hive extension: feed sudo the password asked for on the terminal (deploy-rs' --interactive-sudo).
    interactiveSudo = mkOption { type = types.bool; default = false; };
    # hive extension: after a switch, no systemd unit may have failed that had not failed before.
    checkFailedUnits = mkOption { type = types.bool; default = true; };
    healthChecks = mkOption { type = types.listOf (types.submodule healthCheckType); default = [ ]; };
    # hive extension: which SSH reaches the node (--ssh, for this node): auto, ssh2 or openssh.
    sshTransport = mkOption { type = types.enum [ "auto" "ssh2" "openssh" ]; default = "auto"; };
    # hive extension: with --fan-out auto, hosts of one group copy what they share from each other.
    fanOut = mkOption { type = types.nullOr (types.submodule fanOutType); default = null; };
  };
}
