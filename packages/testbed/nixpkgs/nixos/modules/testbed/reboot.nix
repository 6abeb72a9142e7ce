# `reboot` on a testbed host: asks the testbed (the "hardware") to restart the host, which it
# does as a real reboot (new boot id, empty /run, boot into the system profile). A host run by
# systemd (systemd-nspawn) asks its systemd, and the testbed boots it again.
{ lib, pkgs, ... }:
{
  options.testbed.tools = lib.mkOption {
    type = lib.types.listOf lib.types.package;
    internal = true;
    description = "Programs every testbed system has in sw/bin, as NixOS systems have systemd's.";
  };
  config.testbed.tools = [
    (pkgs.writeShellScriptBin "reboot" ''
      if [ ! -e /etc/ssh/hive-testbed-host ]; then
        echo "reboot: not a hive testbed host; refusing" >&2
        exit 100
      fi
      # A host run by systemd reboots as NixOS does; the others ask the testbed.
      if [ -d /run/systemd/system ]; then
        exec /usr/bin/systemctl reboot
      fi
      touch /run/hive-testbed-reboot-request
    '')
  ];
}
