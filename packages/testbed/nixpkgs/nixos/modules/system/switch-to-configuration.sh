#!/bin/sh
# switch-to-configuration for a hive testbed host: records every action, and for switch and
# test activates the system (boot only takes effect at the next reboot, as on NixOS).
export PATH=/usr/bin:/bin
out='@out@'
action="${1-}"
case "$action" in
  switch | boot | test | dry-activate) ;;
  *)
    echo "Usage: $0 [switch|boot|test|dry-activate]" >&2
    exit 1
    ;;
esac
if [ ! -e /etc/ssh/hive-testbed-host ]; then
  echo "switch-to-configuration: not a hive testbed host (no /etc/ssh/hive-testbed-host); refusing to change this machine" >&2
  exit 100
fi
log=/nix/var/log/hive-testbed
mkdir -p "$log"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $action $out" >>"$log/switch-to-configuration.log"
case "$action" in
  dry-activate)
    echo "would activate $out"
    echo "would run activation snippets: $(cat "$out/activation-snippets")"
    ;;
  boot)
    echo "boot entry updated: the next boot starts $(readlink -f /nix/var/nix/profiles/system 2>/dev/null || echo "$out")"
    ;;
  switch | test)
    exec "$out/activate"
    ;;
esac
