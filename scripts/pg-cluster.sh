#!/usr/bin/env bash
# pg-cluster.sh — a throw-away PostgreSQL cluster for tests: initdb in a directory, postgres on a
# free 127.0.0.1 port, no system service. Stopped by the PID in its postmaster.pid.
#   scripts/pg-cluster.sh start DIR   create and start; prints the connection string (user s3gw,
#                                     trust authentication: for tests only)
#   scripts/pg-cluster.sh stop DIR    stop it (fast shutdown, SIGKILL after 30 s) and delete its data
#   scripts/pg-cluster.sh bindir      where initdb and pg_ctl are (exit 1 when PostgreSQL is absent)
# Collation is ICU's en-US (libc's en_US.UTF-8, else C, where PostgreSQL lacks ICU): a query that
# forgets COLLATE "C" then lists in the wrong order instead of passing by luck.
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user (Debian's
# package creates it), its data in a directory of that user's that DIR/data links to.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

pg_bindir() {
    local d
    # Debian installs each major version side by side; the newest wins.
    for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# as_owner CMD... — runs CMD as the user the cluster belongs to.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local dir="$1" bin real port sock i
    bin="$(pg_bindir)" || { echo "pg-cluster: PostgreSQL (initdb, pg_ctl) is not installed" >&2; exit 1; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [ ! -e "$dir/data" ] || { echo "pg-cluster: $dir/data exists already" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "pg-cluster: running as root needs the postgres user" >&2; exit 1; }
        real="$(mktemp -d /tmp/s3gw-pg.XXXXXX)"
        chown postgres: "$real"
        ln -s "$real/data" "$dir/data"
    else
        real="$dir"
    fi
    # The socket directory's path must fit in sun_path (107 bytes); clients here use TCP anyway.
    sock="$real"
    [ "${#sock}" -lt 80 ] || sock=""
    local collation=(--locale=C)
    if ldd "$bin/postgres" 2>/dev/null | grep -q libicu; then
        collation=(--locale=C --locale-provider=icu --icu-locale=en-US)
    elif locale -a 2>/dev/null | grep -qix 'en_US.utf-\?8'; then
        collation=(--locale=en_US.UTF-8)
    fi
    as_owner "$bin/initdb" -D "$real/data" -U s3gw --auth=trust "${collation[@]}" -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; stop "$dir"; exit 1; }
    # A port taken between choosing and binding fails the start: choose again.
    for i in 1 2 3; do
        port="$(free_port)"
        # Durability is not wanted of a cluster that is deleted after the run: fsync off.
        if as_owner "$bin/pg_ctl" -D "$real/data" -l "$real/postgres.log" -w -t 60 \
            -o "-p $port -k '$sock' -c listen_addresses=127.0.0.1 -c max_connections=1000 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >"$dir/pg_ctl.log" 2>&1; then
            echo "$port" >"$dir/port"
            echo "host=127.0.0.1 port=$port user=s3gw dbname=postgres"
            return 0
        fi
        [ "$i" -lt 3 ] || { cat "$dir/pg_ctl.log" "$real/postgres.log" >&2 2>/dev/null; stop "$dir"; exit 1; }
    done
}

stop() {
    local dir="$1" data pid real i
    data="$dir/data"
    # A link whose target is gone (a start that failed half-way) is still removed.
    [ -e "$data" ] || [ -L "$data" ] || return 0
    real="$(readlink -f "$data")"
    if [ -f "$real/postmaster.pid" ]; then
        pid="$(head -1 "$real/postmaster.pid")"
        if pid_alive "$pid" postgres; then
            # SIGINT: the postmaster's fast shutdown (sessions ended, no wait for clients).
            kill -INT "$pid" 2>/dev/null || true
            for ((i = 0; i < 300; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "pg-cluster: postgres (pid $pid) did not stop after 30s, sending SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    if [ -L "$data" ]; then
        rm -f "$data"
        rm -rf "$(dirname "$real")"
    else
        rm -rf "$real"
    fi
}

case "${1:-}" in
    start) start "${2:?usage: pg-cluster.sh start DIR}" ;;
    stop) stop "${2:?usage: pg-cluster.sh stop DIR}" ;;
    bindir) pg_bindir ;;
    *) echo "usage: pg-cluster.sh start DIR | stop DIR | bindir" >&2; exit 2 ;;
esac
