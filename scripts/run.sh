#!/usr/bin/env bash
# run.sh — `make run`: builds the release binary and starts s3gw behind nginx on this machine,
# everything under .state/ in the repository (config, metadata, zone, TLS, logs, pid files).
#
#   S3GW_HTTPS_PORT (8443)   S3GW_HTTP_PORT (8080)   listen on 127.0.0.1 only
#   S3GW_ACCESS_KEY / S3GW_SECRET_KEY                root credentials (else generated once)
#   S3GW_SKIP_BUILD=1                                use the existing .build/release/s3gw
#   S3GW_BIN=path                                    run this binary instead (implies no build)
#   S3GW_START_TIMEOUT (60)                          seconds to wait for the gateway
#   S3GW_CONFIG=path                                 use this config instead of .state/s3gw.toml
#                                                    (scripts/demo.sh writes one with providers)
# Stop with `make stop` (scripts/stop.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

https_port="${S3GW_HTTPS_PORT:-8443}"
http_port="${S3GW_HTTP_PORT:-8080}"
state="$root/.state"
bin="${S3GW_BIN:-$root/.build/release/s3gw}"
[ -z "${S3GW_BIN:-}" ] || S3GW_SKIP_BUILD=1

scripts/install-deps.sh
if [ "${S3GW_SKIP_BUILD:-0}" != "1" ]; then
    echo "==> swift build -c release"
    swift build -c release
fi
[ -x "$bin" ] || { echo "run: $bin is missing (build failed?)" >&2; exit 1; }

# A previous `make run` still going: replace it.
if [ -f "$state/s3gw.pid" ] || [ -f "$state/nginx/nginx.pid" ]; then
    scripts/stop.sh
fi

mkdir -p "$state/zones/local-1" "$state/run" "$state/nginx"
chmod 0700 "$state"
config="${S3GW_CONFIG:-$state/s3gw.toml}"
if [ ! -f "$config" ]; then
    cat >"$config" <<TOML
# Written by scripts/run.sh on first run; edit freely (see config/s3gw.toml for every key).
[server]
socket = "$state/run/s3gw.sock"
socket_mode = "0660"
workers = 0
threads = 32
state_dir = "$state"
log_level = "info"
max_clock_skew = 900

[storage]
default_zone = "local-1"

[[zones]]
name = "local-1"
country = "se"
region = "se-sto"
kind = "filesystem"
path = "$state/zones/local-1"
TOML
fi
"$bin" config check --config "$config"

scripts/dev-cert.sh "$state/tls"
# The zones' internal locations: nginx sends the files of filesystem-zone GETs itself.
"$bin" config nginx-locations --config "$config" >"$state/nginx-locations.conf"
conf="$(scripts/render-nginx.sh --prefix "$state/nginx" --http-port "$http_port" --https-port "$https_port" \
    --socket "$state/run/s3gw.sock" --cert "$state/tls/cert.pem" --key "$state/tls/key.pem" --web-root "$root/web" \
    --zone-locations "$state/nginx-locations.conf")"
nginx -t -q -p "$state/nginx" -c "$conf" -e "$state/nginx/error.log"

for port in "$http_port" "$https_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run: port $port on 127.0.0.1 is already in use; set S3GW_HTTP_PORT / S3GW_HTTPS_PORT" >&2
        exit 1
    fi
done

echo "==> starting s3gw (log: .state/s3gw.log)"
setsid nohup "$bin" serve --config "$config" --pid-file "$state/s3gw.pid" \
    </dev/null >>"$state/s3gw.log" 2>&1 &
echo "$!" >"$state/s3gw.pid"
echo "==> starting nginx on 127.0.0.1:$https_port (https) and :$http_port (http)"
setsid nohup nginx -p "$state/nginx" -c "$conf" -e "$state/nginx/error.log" -g 'daemon off;' \
    </dev/null >>"$state/nginx/nginx.out" 2>&1 &
echo "$!" >"$state/nginx/nginx.pid"

fail() {
    echo "run: $1" >&2
    echo "--- .state/s3gw.log (tail) ---" >&2; tail -n 30 "$state/s3gw.log" >&2 || true
    echo "--- .state/nginx/error.log (tail) ---" >&2; tail -n 15 "$state/nginx/error.log" >&2 || true
    scripts/stop.sh >&2 || true
    exit 1
}

timeout_s="${S3GW_START_TIMEOUT:-60}"
deadline=$((SECONDS + timeout_s))
while :; do
    pid_alive "$(cat "$state/s3gw.pid")" s3gw || fail "the gateway exited during start-up"
    pid_alive "$(cat "$state/nginx/nginx.pid")" nginx || fail "nginx exited during start-up"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http_port/" || true)"
    case "$code" in
        000|502|503|504) ;;
        *) break ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || fail "the gateway did not answer within ${timeout_s}s (last HTTP status: $code)"
    sleep 0.2
done

if [ -n "${S3GW_ACCESS_KEY:-}" ] && [ -n "${S3GW_SECRET_KEY:-}" ]; then
    access_key="$S3GW_ACCESS_KEY"; secret_key="$S3GW_SECRET_KEY"; source_note="from your environment"
elif [ -f "${S3GW_CREDENTIALS_FILE:-$state/root-credentials}" ]; then
    creds="${S3GW_CREDENTIALS_FILE:-$state/root-credentials}"
    # shellcheck disable=SC1090
    access_key="$(. "$creds"; echo "$S3GW_ACCESS_KEY")"
    secret_key="$(. "$creds"; echo "$S3GW_SECRET_KEY")"
    source_note="from ${creds#"$root"/}"
else
    access_key="(see [credentials] in .state/s3gw.toml)"; secret_key="$access_key"; source_note="from the config"
fi

cat <<EOF2

s3gw is running.
  S3 endpoint   https://localhost:$https_port   (and http://localhost:$http_port)
  Web UI        https://localhost:$https_port/ui/
  Credentials   $source_note
                access key  $access_key
                secret key  $secret_key
  Logs          .state/s3gw.log   .state/nginx/error.log   .state/nginx/access.log
  Stop          make stop

Try it:
  AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key aws --endpoint-url https://localhost:$https_port --no-verify-ssl s3 ls

or trusting the development certificate instead of skipping verification:
  AWS_CA_BUNDLE=$state/tls/cert.pem AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key aws --endpoint-url https://localhost:$https_port s3 ls
EOF2
