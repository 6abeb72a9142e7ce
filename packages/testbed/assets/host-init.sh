#!/bin/sh
# Runs as the first process of a testbed host's mount namespace.
#   host-init.sh HOST_DIR sshd   start sshd (the host is up)
#   host-init.sh HOST_DIR boot   boot: /run/current-system from the system profile, then sshd
#   host-init.sh HOST_DIR exec CMD...   run CMD inside the host (for inspection by tests)
set -eu
h="$1"
mode="$2"
shift 2
mount --bind "$h/nix" /nix
mount --bind "$h/run" /run
mount --bind "$h/etc-ssh" /etc/ssh
mount --bind "$h/etc-nix" /etc/nix
for f in passwd group shadow sudoers; do
  mount --bind "$h/etc/$f" "/etc/$f"
done
mount --bind "$h/boot_id" /proc/sys/kernel/random/boot_id
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

case "$mode" in
  exec)
    exec "$@"
    ;;
  boot)
    mkdir -p /run/sshd
    # As NixOS's stage 2: the system profile is what boots, and its activation runs.
    if [ -e /nix/var/nix/profiles/system ]; then
      sys=$(readlink -f /nix/var/nix/profiles/system)
      ln -sfn "$sys" /run/booted-system
      ln -sfn "$sys" /run/current-system
      if [ -x "$sys/activate" ]; then
        "$sys/activate" >"$h/boot-activation.log" 2>&1 || echo "host-init: activation of $sys failed at boot" >&2
      fi
    fi
    ;;
esac
mkdir -p /run/sshd
chmod 0755 /run/sshd
exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
