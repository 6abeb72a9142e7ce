#!/usr/bin/env bash
# Installs what hive's tests and demo need on a Debian machine (as root), then the workspace's
# dependencies from the lockfile, and builds it. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (the testbed makes mount namespaces and installs Debian packages)" >&2
  exit 1
fi

missing=()
need() { # need PATH PACKAGE
  [ -e "$1" ] || missing+=("$2")
}
need /usr/bin/nix-store nix-bin
need /usr/sbin/sshd openssh-server
need /usr/bin/ssh openssh-client
need /usr/bin/sudo sudo
need /usr/bin/openssl openssl
need /usr/bin/setpriv util-linux
need /usr/bin/git git
need /usr/bin/parallel-ssh pssh # the baseline of the no-op benchmark
need /usr/bin/time time # benchmarks measure the hive process tree's CPU and peak memory
need /usr/bin/tmux tmux # terminal tests see hive as a person would
need /usr/bin/zsh zsh # the completion tests run the zsh script
need /usr/bin/strace strace # the secret tests record every process started
need /usr/bin/systemd-nspawn systemd-container # a testbed host run by a real systemd
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "setup: Node.js >= 20.19 is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
