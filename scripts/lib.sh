# Shared helpers for scripts/*.sh (sourced, not executed).

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

_apt_updated=0
apt_update_once() {
    if [ "$_apt_updated" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _apt_updated=1
    fi
}

apt_has_candidate() {
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$c" ] || [ "$c" = "(none)" ]; then
        apt_update_once >/dev/null 2>&1 || true
        c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    fi
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

# apt_install PKG... — installs the given packages (none given: no-op); refreshes the package
# lists first only when they are missing or the first attempt fails.
apt_install() {
    [ "$#" -gt 0 ] || return 0
    echo "apt-get install: $*" >&2
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then apt_update_once; fi
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; then
        apt_update_once
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    fi
}

# apt_install_no_service UNIT PKG... — installs PKG... without starting the system service their
# postinst would start (a policy-rc.d that refuses every start is in place meanwhile, unless one
# exists already); the systemd UNIT is left disabled and stopped. Tests start their own servers.
apt_install_no_service() {
    local unit="$1" policy=/usr/sbin/policy-rc.d placed=0
    shift
    [ "$#" -gt 0 ] || return 0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 0755 "$policy"
        placed=1
    fi
    apt_install "$@" || { [ "$placed" -eq 0 ] || as_root rm -f "$policy"; return 1; }
    [ "$placed" -eq 0 ] || as_root rm -f "$policy"
    if [ -d /run/systemd/system ]; then
        as_root systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
}

# pid_alive PID NAME — true when PID runs and its command line mentions NAME (guards against a
# recycled pid in a stale pid file).
pid_alive() {
    local pid="$1" name="$2"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# stop_pid PID NAME TIMEOUT — SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
stop_pid() {
    local pid="$1" name="$2" timeout="${3:-10}" i
    pid_alive "$pid" "$name" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "stop: $name (pid $pid) did not exit after ${timeout}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
}
