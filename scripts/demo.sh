#!/usr/bin/env bash
# Sets everything up, starts a local fleet of real hosts (each an sshd with its own Nix store)
# named like the nodes of examples/fleet, and deploys the example hive to it with `hive apply`.
# The fleet stays up to explore; the script prints how to reach it and how to take it down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

dir=${HIVE_DEMO_DIR:-/tmp/hive-demo}
hive() { node packages/cli/dist/main.js "$@"; }
testbed() { node packages/testbed/dist/cli.js "$@"; }

if [ -e "$dir/testbed.json" ]; then testbed down --dir "$dir"; fi
testbed up --hosts web-1,web-2,db --dir "$dir"

# hive reaches the hosts through the testbed's ssh_config, as it would through ~/.ssh/config.
# This machine has no network: no binary cache.
export SSH_CONFIG_FILE="$dir/ssh_config" NIX_CONFIG="substituters ="

echo "== the hive"
hive nodes -f examples/fleet
echo "== hive apply"
hive apply -f examples/fleet
echo "== a second apply has nothing to do"
hive apply -f examples/fleet --on @web
echo "== fleet status: what each host runs, who switched it, and whether it matches the hive"
hive status -f examples/fleet
echo "== what runs where"
hive exec -f examples/fleet -- sh -c 'echo "$(readlink /run/current-system) $(ls /run/current-system/sw/bin | tr "\n" " ")"'

cat <<MSG

The fleet is up in $dir. Try:
  export SSH_CONFIG_FILE=$dir/ssh_config NIX_CONFIG="substituters ="
  node packages/cli/dist/main.js apply -f examples/fleet --on @web
  node packages/cli/dist/main.js diff -f examples/fleet      # after editing the hive: what would change
  ssh -F $dir/ssh_config web-1 'ls /run/current-system/sw/bin'
  node packages/testbed/dist/cli.js down --dir $dir      # when done
MSG
