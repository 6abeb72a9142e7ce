#!/usr/bin/env bash
# Sets everything up, starts a local fleet of three real hosts (sshd + own Nix store each), and
# deploys a NixOS system to each: build with nix, copy over ssh, switch. The fleet stays up to
# explore; the script prints how to reach it and how to take it down.
#
# Until `hive apply` lands, the deploy steps are the plain Nix commands hive automates.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

dir=${HIVE_DEMO_DIR:-/tmp/hive-demo}
testbed() { node packages/testbed/dist/cli.js "$@"; }
nixpkgs=$(node -e 'import("./packages/testbed/dist/index.js").then(m => console.log(m.miniNixpkgsPath))')
export NIX_CONFIG=$'experimental-features = nix-command flakes\nsandbox = false\nsubstituters ='

if [ -e "$dir/testbed.json" ]; then testbed down --dir "$dir"; fi
testbed up 3 --dir "$dir"
export NIX_SSHOPTS="-F $dir/ssh_config"
key=$(cat "$dir/client/id_ed25519.pub")

for host in h1 h2 h3; do
  echo "== $host: build"
  system=$(nix-build --no-out-link examples/demo/system.nix \
    --arg nixpkgs "$nixpkgs" --argstr hostName "$host" --arg authorizedKeys "[ \"$key\" ]")
  echo "   $system"
  echo "== $host: copy the closure over ssh"
  nix copy --to "ssh://$host" "$system"
  echo "== $host: switch"
  ssh -F "$dir/ssh_config" "$host" \
    "nix-env --profile /nix/var/nix/profiles/system --set $system && $system/bin/switch-to-configuration switch && cat /run/demo-activated"
done

echo
testbed status --dir "$dir"
cat <<MSG

The fleet is up in $dir. Try:
  ssh -F $dir/ssh_config h1 'cat /run/etc/motd; ls /run/current-system/sw/bin'
  node packages/testbed/dist/cli.js reboot h2 --dir $dir
  node packages/testbed/dist/cli.js down --dir $dir      # when done
MSG
