/**
 * The shell scripts of an activation. The runner is what lives on the host: it sets the profile,
 * runs switch-to-configuration and, if that fails or is stopped, restores the previous system,
 * then writes its status. It runs detached from the SSH session (as a transient systemd unit or a
 * process of its own session) and needs nothing from PATH or the environment: a systemd unit gets
 * only systemd's own PATH. It uses shell builtins and the absolute paths it is given, nothing else.
 *
 * Magic rollback: with a confirmation window (seconds, 0 for none), a successful activation is
 * kept only if hive confirms it (creates `$base.confirm`) over a new SSH connection within the
 * window; otherwise the runner restores the previous system itself. It marks `$base.activated`
 * when it starts waiting.
 *
 * Boot watch (goal boot, then a reboot, with magic rollback, on a host run by systemd): after
 * `switch-to-configuration boot` succeeded, the runner arms a watchdog that survives the reboot: a
 * copy of itself in /nix/var/hive and a unit in /etc/systemd/system.control (systemd's persistent
 * control directory, which NixOS leaves alone), wanted by multi-user.target through a drop-in. At
 * the next boot it runs in mode boot-watch with base `$base.boot`: if the host booted the new
 * system, it waits for hive's confirmation as above and restores the previous system (profile and
 * a `switch`) when none comes. /nix/var/hive/boot-watch.state says armed, running or done.
 *
 * Status line (one write):
 * `hive-activation rc=N rollback=none|ok|unavailable|failed:N stopped=0|1 unconfirmed=0|1 watch=armed|none end`.
 */
export const ACTIVATION_RUNNER = `
mode="$1"; base="$2"; system="$3"; action="$4"; setProfile="$5"; prevGen="$6"; prevSystem="$7"; nixenv="$8"
confirm="$9"; sleep="\${10}"; watch="\${11:-0}"
profile=/nix/var/nix/profiles/system
hive=/nix/var/hive
units=/etc/systemd/system.control
if [ "$mode" = boot-watch ]; then
  read -r armed < "$hive/boot-watch.state" 2>/dev/null || armed=""
  [ "$armed" = armed ] || exit 0
  printf 'running\\n' > "$hive/boot-watch.state"
fi
echo "$$" > "$base.pid"
exec >> "$base.log" 2>&1 < /dev/null
child=""
stopped=0
trap 'stopped=1; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi' TERM INT HUP
run() {
  "$@" &
  child=$!
  while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=""
  return "$rc"
}
restore() {
  trap '' TERM INT HUP
  if [ "$setProfile" = 1 ]; then
    if [ "$prevGen" = - ]; then
      echo "hive: there is no earlier generation of the system profile to restore"
      rollback=unavailable
      return
    fi
    echo "hive: restoring generation $prevGen ($prevSystem)"
    "$nixenv" --profile "$profile" --switch-generation "$prevGen" || { rollback="failed:$?"; return; }
    "$prevSystem/bin/switch-to-configuration" "$action"
  elif [ "$action" = test ] && [ "$prevSystem" != - ]; then
    echo "hive: activating $prevSystem again"
    "$prevSystem/bin/switch-to-configuration" test
  else
    rollback=none
    return
  fi
  r=$?
  if [ "$r" = 0 ]; then rollback=ok; else rollback="failed:$r"; fi
}
awaitConfirmation() {
  printf 'activated\\n' > "$base.activated"
  if [ -p "$base.answer" ] && exec 3<> "$base.answer"; then
    # Woken by hive's answer (or a stop) written to the FIFO, or by the timer: no polling.
    ( trap 'kill "$t" 2> /dev/null; exit 0' TERM; "$sleep" "$confirm" & t=$!; wait "$t" && printf 'timeout\\n' >&3 ) &
    timer=$!
    answer=""
    while [ -z "$answer" ] && [ ! -e "$base.confirm" ] && [ ! -e "$base.reject" ] && [ "$stopped" = 0 ]; do
      read -r answer <&3 || break
    done
    kill "$timer" 2> /dev/null
    exec 3<&-
  else
    # In tenths of a second: a confirmation that arrives ends the wait at once.
    waited=0
    while [ ! -e "$base.confirm" ] && [ ! -e "$base.reject" ] && [ "$waited" -lt "$((confirm * 10))" ] && [ "$stopped" = 0 ]; do
      run "$sleep" 0.1
      waited=$((waited + 1))
    done
  fi
  if [ -e "$base.reject" ]; then
    echo "hive: rejected by the deployer (a health check failed); restoring"
    unconfirmed=1
  elif [ "$stopped" = 0 ] && [ ! -e "$base.confirm" ]; then
    echo "hive: not confirmed within $confirm s: the deployer could not get back in; restoring"
    unconfirmed=1
  fi
}
armWatch() {
  [ -d /run/systemd/system ] || return 0
  while IFS= read -r line; do printf '%s\\n' "$line"; done < "$0" > "$hive/boot-watch.sh" || return 0
  [ -d "$units/multi-user.target.d" ] || return 0
  printf '[Unit]\\nDescription=hive: keep the system booted now only if the deployer confirms it\\n\\n[Service]\\nExecStart=/bin/sh %s boot-watch %s %s switch 1 %s %s %s %s %s\\n' \
    "$hive/boot-watch.sh" "$base.boot" "$system" "$prevGen" "$prevSystem" "$nixenv" "$confirm" "$sleep" > "$units/hive-boot-watch.service" || return 0
  printf '[Unit]\\nWants=hive-boot-watch.service\\n' > "$units/multi-user.target.d/hive-boot-watch.conf" || return 0
  printf 'armed\\n' > "$hive/boot-watch.state"
  watched=armed
  echo "hive: armed the boot watch: unless the deployer confirms within $confirm s of the next boot, the host restores generation $prevGen"
}
rc=0
rollback=none
unconfirmed=0
watched=none
if [ "$mode" = rollback ]; then
  rc=-
  restore
elif [ "$mode" = boot-watch ]; then
  booted=$(cd -P /run/current-system 2>/dev/null && pwd -P)
  if [ "$booted" = "$system" ]; then
    awaitConfirmation
    if [ "$unconfirmed" = 1 ] || [ "$stopped" = 1 ]; then restore; fi
  else
    echo "hive: the host booted $booted, not $system: nothing to confirm"
    unconfirmed=1
  fi
  printf 'done\\n' > "$hive/boot-watch.state"
else
  if [ "$setProfile" = 1 ]; then
    run "$nixenv" --profile "$profile" --set "$system"
    rc=$?
  fi
  if [ "$rc" = 0 ] && [ "$stopped" = 0 ]; then
    run "$system/bin/switch-to-configuration" "$action"
    rc=$?
  elif [ "$rc" = 0 ]; then
    rc=143
  fi
  if [ "$rc" = 0 ] && [ "$confirm" != 0 ] && [ "$watch" = 1 ]; then
    armWatch
  elif [ "$rc" = 0 ] && [ "$confirm" != 0 ]; then
    awaitConfirmation
  fi
  if [ "$rc" != 0 ] || [ "$unconfirmed" = 1 ] || [ "$stopped" = 1 ]; then restore; fi
fi
printf 'hive-activation rc=%s rollback=%s stopped=%s unconfirmed=%s watch=%s end\\n' "$rc" "$rollback" "$stopped" "$unconfirmed" "$watched" > "$base.status"
`;

/** Removes the boot watch's files: once it confirmed or restored, it leaves nothing behind. */
export const DISARM_BOOT_WATCH =
  "rm -f /etc/systemd/system.control/hive-boot-watch.service /etc/systemd/system.control/multi-user.target.d/hive-boot-watch.conf /nix/var/hive/boot-watch.state /nix/var/hive/boot-watch.sh";

/**
 * Asks how the runner is doing: done (with its status, what the host runs and boots now, and the
 * log), running, gone (its process ended without a status: killed, or the host lost power) or
 * rebooted. Liveness is read before the status: a runner writes its status before it ends.
 */
export const POLL_ACTIVATION = `
base="$1"; boot="$2"; profile=/nix/var/nix/profiles/system
alive=0
pid=$(cat "$base.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q hive "/proc/$pid/cmdline" 2>/dev/null; then alive=1; fi
if [ -s "$base.status" ]; then
  echo "state=done"
  cat "$base.status"
  printf 'current=%s\\n' "$(readlink -e /run/current-system 2>/dev/null)"
  printf 'profile=%s\\n' "$(readlink -e "$profile" 2>/dev/null)"
  printf 'generation=%s\\n' "$(readlink "$profile" 2>/dev/null)"
  echo ---
  cat "$base.log" 2>/dev/null
  rm -f "$base.sh" "$base.pid" "$base.answer"
elif [ "$(cat /proc/sys/kernel/random/boot_id)" != "$boot" ]; then
  echo "state=rebooted"
elif [ "$alive" = 1 ] && [ -e "$base.activated" ]; then
  echo "state=activated"
elif [ "$alive" = 1 ]; then
  echo "state=running"
else
  echo "state=gone"
fi
`;

/**
 * Confirms an activation (magic rollback; $3 = confirm), run over a connection made after it, or
 * rejects it ($3 = reject: a health check failed, restore now), then answers as the poll does once
 * the runner has taken the answer in: one round trip for both.
 */
/**
 * A poll that first waits on the host (up to $3 steps of 20 ms) while the runner is still running
 * and has neither activated nor finished: hive learns of each change at once, without polling
 * over the network.
 */
export const WAIT_ACTIVATION = `
i=0
while [ ! -s "$1.status" ] && [ ! -e "$1.activated" ] && [ "$i" -lt "$3" ]; do
  # Builtins only (read, kill, test): one process per step, the sleep, while ten hosts wait.
  pid=""; read -r pid 2>/dev/null < "$1.pid"
  { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || break
  read -r booted < /proc/sys/kernel/random/boot_id && [ "$booted" = "$2" ] || break
  sleep 0.02
  i=$((i + 1))
done
${POLL_ACTIVATION}`;

/**
 * Starts the runner (run in the SSH session, where PATH is the user's): it resolves the absolute
 * paths the runner needs, starts it as systemd would on NixOS (a transient unit with the
 * environment nixos-rebuild gives it) or as a process of its own session elsewhere, waits for its
 * pid, adds the pid to the host's deploy lock (so the lock outlives a dropped connection while the
 * activation runs) and prints the boot id.
 */
export const START_ACTIVATION = `
set -eu
dir="$1"; id="$2"; mode="$3"; system="$4"; action="$5"; setProfile="$6"; prevGen="$7"; prevSystem="$8"; lock="$9"; runner="\${10}"; confirm="\${11}"; watch="\${12}"
umask 077
mkdir -p "$dir"
# A boot watch that has done its work (or was never used) leaves nothing behind.
if [ -d /run/systemd/system ] && [ "$(cat /nix/var/hive/boot-watch.state 2>/dev/null)" != running ]; then
  ${DISARM_BOOT_WATCH}
fi
if [ "$watch" = 1 ] && [ -d /run/systemd/system ]; then mkdir -p /etc/systemd/system.control/multi-user.target.d 2>/dev/null || true; fi
base="$dir/$id"
printf '%s' "$runner" > "$base.sh"
# Where hive's answer to a magic rollback wakes the runner (it polls when there is none).
if [ "$confirm" != 0 ]; then mkfifo -m 600 "$base.answer" 2> /dev/null || true; fi
nixenv=$(command -v nix-env) || { echo "nix-env is not on PATH" >&2; exit 1; }
sleepbin=$(command -v sleep) || { echo "sleep is not on PATH" >&2; exit 1; }
boot=$(cat /proc/sys/kernel/random/boot_id)
if command -v systemd-run > /dev/null 2>&1 && [ -d /run/systemd/system ]; then
  # The units failed before: the failed-units check blames the new system only for others.
  systemctl list-units --state=failed --plain --no-legend --full --no-pager > "$base.failed-before" 2>/dev/null || true
  echo "systemd=1"
  locale="\${LOCALE_ARCHIVE:-/run/current-system/sw/lib/locale/locale-archive}"
  if [ -e "$locale" ]; then set -- "--setenv=LOCALE_ARCHIVE=$locale"; else set --; fi
  systemd-run --quiet --collect --no-ask-password --unit "hive-activate-$id" \\
    --setenv=NIXOS_INSTALL_BOOTLOADER= "$@" \\
    /bin/sh "$base.sh" "$mode" "$base" "$system" "$action" "$setProfile" "$prevGen" "$prevSystem" "$nixenv" "$confirm" "$sleepbin" "$watch"
else
  setsid /bin/sh "$base.sh" "$mode" "$base" "$system" "$action" "$setProfile" "$prevGen" "$prevSystem" "$nixenv" "$confirm" "$sleepbin" "$watch" \\
    < /dev/null > /dev/null 2>&1 &
fi
i=0
while [ ! -s "$base.pid" ]; do
  i=$((i + 1))
  if [ "$i" -gt 1000 ]; then echo "the activation did not start (no $base.pid after 10 s)" >&2; exit 1; fi
  sleep 0.01
done
if [ -e "$lock" ]; then printf 'pid %s %s\\n' "$(cat "$base.pid")" "$boot" >> "$lock"; fi
echo "boot=$boot"
# Waits here, on the host, for the runner to get somewhere and answers as a poll: no round trips.
if [ "\${13:-0}" -gt 0 ]; then
  set +eu
  echo "--- poll ---"
  set -- "$base" "$boot" "\${13}"
  ${WAIT_ACTIVATION}
fi
`;

export const CONFIRM_ACTIVATION = `
touch "$1.$3"
if [ -p "$1.answer" ]; then exec 3<> "$1.answer" && printf '%s\\n' "$3" >&3; exec 3<&-; fi
i=0
while [ ! -s "$1.status" ] && [ "$i" -lt 150 ]; do sleep 0.02; i=$((i + 1)); done
${POLL_ACTIVATION}`;

/**
 * The built-in health check of hosts run by systemd: no unit failed that had not failed before
 * the activation ($1.failed-before). Prints the new failures and their last lines of status.
 */
export const FAILED_UNITS_CHECK = `
base="$1"
units() { systemctl list-units --state=failed --plain --no-legend --full --no-pager 2>/dev/null | while read -r a b _; do case "$a" in *.*) echo "$a" ;; *) echo "$b" ;; esac; done; }
before=$(cat "$base.failed-before" 2>/dev/null | while read -r a b _; do case "$a" in *.*) echo "$a" ;; *) echo "$b" ;; esac; done)
new=""
for unit in $(units); do
  case "
$before
" in *"
$unit
"*) ;; *) new="$new $unit" ;; esac
done
[ -z "$new" ] && exit 0
echo "units failed since the activation:$new"
for unit in $new; do systemctl status --no-pager --lines 5 "$unit" 2>&1 | tail -n 7; done
exit 1
`;

/** Stops a runner: it stops switch-to-configuration and restores the previous system itself. */
export const STOP_ACTIVATION = `
pid=$(cat "$1.pid" 2>/dev/null || true)
if [ -n "$pid" ] && grep -q hive "/proc/$pid/cmdline" 2>/dev/null; then kill -TERM "$pid"; fi
if [ -p "$1.answer" ]; then exec 3<> "$1.answer" && printf 'stop\\n' >&3; exec 3<&-; fi
`;
