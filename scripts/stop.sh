#!/usr/bin/env bash
# stop.sh — `make stop`: stops what scripts/run.sh started, by PID: nginx first (no new
# requests), then the gateway (drains in-flight requests). SIGTERM, then SIGKILL after
# S3GW_STOP_TIMEOUT seconds (default 20).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
state="$root/.state"
timeout="${S3GW_STOP_TIMEOUT:-20}"

stopped=0
for entry in "nginx/nginx.pid:nginx" "s3gw.pid:s3gw"; do
    file="$state/${entry%%:*}" name="${entry##*:}"
    [ -f "$file" ] || continue
    pid="$(cat "$file" 2>/dev/null || true)"
    if pid_alive "$pid" "$name"; then
        echo "stopping $name (pid $pid)"
        stop_pid "$pid" "$name" "$timeout"
        stopped=1
    fi
    rm -f "$file"
done
# The demo's stand-in providers (scripts/demo.sh).
for file in "$state"/moto-*.pid; do
    [ -f "$file" ] || continue
    pid="$(cat "$file" 2>/dev/null || true)"
    if pid_alive "$pid" moto_server; then
        echo "stopping moto_server (pid $pid)"
        stop_pid "$pid" moto_server "$timeout"
        stopped=1
    fi
    rm -f "$file"
done
[ "$stopped" -eq 1 ] || echo "nothing running"
