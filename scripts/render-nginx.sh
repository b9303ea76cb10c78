#!/usr/bin/env bash
# render-nginx.sh — renders nginx/s3gw-dev.conf.in into PREFIX/nginx.conf and creates the
# directories nginx writes to under PREFIX. Prints the path of the rendered file.
#
#   render-nginx.sh --prefix DIR --http-port N --https-port N --socket PATH [--socket PATH ...] \
#                   --cert FILE --key FILE [--web-root DIR] [--out FILE] [--template FILE]
#                   [--metrics-allow "ADDR|CIDR ..."]   (who may read /metrics; default 127.0.0.1 ::1)
#                   [--zone-locations FILE]   (what `s3gw config nginx-locations` printed; default none)
#                   [--njs-module FILE]       (default /usr/lib/nginx/modules/ngx_http_js_module.so)
#   Several --socket: one upstream over several gateway hosts (docs/HOSTS.md).
#
# Then: nginx -p DIR -c DIR/nginx.conf -e DIR/error.log -g 'daemon off;'
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="" http_port="" https_port="" socket="" cert="" key=""
web_root="$root/web" out="" template="$root/nginx/s3gw-dev.conf.in"
metrics_allow="127.0.0.1 ::1"
zone_locations="" njs_module="/usr/lib/nginx/modules/ngx_http_js_module.so"

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" >&2; exit 2; }
sockets=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2" ;;
        --http-port) http_port="$2" ;;
        --https-port) https_port="$2" ;;
        --socket) socket="$2"; sockets+=("$2") ;;
        --cert) cert="$2" ;;
        --key) key="$2" ;;
        --web-root) web_root="$2" ;;
        --out) out="$2" ;;
        --template) template="$2" ;;
        --metrics-allow) metrics_allow="$2" ;;
        --zone-locations) zone_locations="$2" ;;
        --njs-module) njs_module="$2" ;;
        -h|--help) usage ;;
        *) echo "render-nginx: unknown argument $1" >&2; usage ;;
    esac
    shift 2
done
for v in prefix http_port https_port socket cert key; do
    [ -n "${!v}" ] || { echo "render-nginx: --${v//_/-} is required" >&2; usage; }
done

abspath() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$(pwd)" "$1" ;; esac; }
prefix="$(abspath "$prefix")"; socket="$(abspath "${sockets[0]}")"
# The upstream's servers: one line per gateway host's socket.
upstream_servers=""
for s in "${sockets[@]}"; do
    upstream_servers="${upstream_servers}server unix:$(abspath "$s") max_fails=1 fail_timeout=2s; "
done
cert="$(abspath "$cert")"; key="$(abspath "$key")"; web_root="$(abspath "$web_root")"
out="${out:-$prefix/nginx.conf}"

mkdir -p "$prefix"/tmp/{client_body,fastcgi,proxy,uwsgi,scgi}
# The zones' internal locations (accelerated GETs); none: every GET streams through the gateway.
if [ -n "$zone_locations" ]; then
    cp "$zone_locations" "$prefix/zone-locations.conf"
else
    : >"$prefix/zone-locations.conf"
fi
# Workers of a root master run as `nobody` unless told otherwise and could not reach a socket
# inside a 0700 directory.
user_line=""
if [ "$(id -u)" -eq 0 ]; then user_line="user root;"; fi

allow_lines=""
for a in $metrics_allow; do
    case "$a" in
        *[!0-9A-Fa-f.:/]*) echo "render-nginx: --metrics-allow: \"$a\" is not an address or CIDR range" >&2; exit 2 ;;
    esac
    allow_lines="${allow_lines}$a 1; "
done

esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
sed -e "s|@PREFIX@|$(esc "$prefix")|g" \
    -e "s|@HTTP_PORT@|$(esc "$http_port")|g" \
    -e "s|@HTTPS_PORT@|$(esc "$https_port")|g" \
    -e "s|@UPSTREAM_SERVERS@|$(esc "$upstream_servers")|g" \
    -e "s|@SOCKET@|$(esc "$socket")|g" \
    -e "s|@CERT@|$(esc "$cert")|g" \
    -e "s|@KEY@|$(esc "$key")|g" \
    -e "s|@WEB_ROOT@|$(esc "$web_root")|g" \
    -e "s|@USER_LINE@|$(esc "$user_line")|g" \
    -e "s|@METRICS_ALLOW@|$(esc "$allow_lines")|g" \
    -e "s|@ZONE_LOCATIONS@|$(esc "$prefix/zone-locations.conf")|g" \
    -e "s|@JS@|$(esc "$root/nginx/s3gw.js")|g" \
    -e "s|@NJS_MODULE@|$(esc "$njs_module")|g" \
    "$template" >"$out.tmp"
mv "$out.tmp" "$out"
printf '%s\n' "$out"
