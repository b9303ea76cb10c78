#!/usr/bin/env bash
# demo.sh — `make demo`: `make run` with a demo catalog of three zones in three countries, so
# residency can be seen on one machine:
#   se-sto-fs-1    filesystem zone, country se, region se-sto (the default)
#   fi-hel-demo-1  a moto_server on 127.0.0.1 (first port),  country fi, region fi-hel
#   de-fra-demo-1  a moto_server on 127.0.0.1 (second port), country de, region de-fra
#   S3GW_DEMO_PROVIDER_PORTS (19001,19002)   the two providers' ports
# Everything else as scripts/run.sh (ports, credentials). `make stop` stops all of it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
state="$root/.state"
IFS=, read -r fi_port de_port <<<"${S3GW_DEMO_PROVIDER_PORTS:-19001,19002}"

# moto_server stands in for remote providers (it speaks S3 but checks no signatures).
if ! command -v moto_server >/dev/null 2>&1; then
    echo "==> pip install moto[server]"
    python3 -m pip install -q 'moto[server]'
fi

scripts/stop.sh >/dev/null 2>&1 || true
mkdir -p "$state/demo/zones/se-sto-fs-1"
chmod 0700 "$state"
for port in "$fi_port" "$de_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo: port $port on 127.0.0.1 is already in use; set S3GW_DEMO_PROVIDER_PORTS" >&2
        exit 1
    fi
    echo "==> starting moto_server on 127.0.0.1:$port (log: .state/moto-$port.log)"
    setsid nohup moto_server -H 127.0.0.1 -p "$port" </dev/null >>"$state/moto-$port.log" 2>&1 &
    echo "$!" >"$state/moto-$port.pid"
done
for port in "$fi_port" "$de_port"; do
    for _ in $(seq 1 150); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.2
    done
done

cat >"$state/s3gw-demo.toml" <<TOML
# Written by scripts/demo.sh: the demo catalog (see config/s3gw.toml for every key).
[server]
socket = "$state/run/s3gw.sock"
socket_mode = "0660"
workers = 0
threads = 32
state_dir = "$state/demo"
log_level = "info"

[storage]
default_zone = "se-sto-fs-1"
health_interval = 5

[[zones]]
name = "se-sto-fs-1"
country = "se"
region = "se-sto"
kind = "filesystem"
path = "$state/demo/zones/se-sto-fs-1"

[[zones]]
name = "fi-hel-demo-1"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:$fi_port"
access_key = "demo"
secret_key = "demo-secret"

[[zones]]
name = "de-fra-demo-1"
country = "de"
region = "de-fra"
kind = "s3"
endpoint = "http://127.0.0.1:$de_port"
access_key = "demo"
secret_key = "demo-secret"
TOML

S3GW_CONFIG="$state/s3gw-demo.toml" S3GW_CREDENTIALS_FILE="$state/demo/root-credentials" scripts/run.sh
bin="${S3GW_BIN:-$root/.build/release/s3gw}"
echo
echo "The demo catalog (s3gw zones):"
"$bin" zones --probe --config "$state/s3gw-demo.toml"
cat <<EOF2

Place buckets by country, region or zone with a LocationConstraint, e.g.:
  aws --endpoint-url https://localhost:${S3GW_HTTPS_PORT:-8443} --no-verify-ssl s3 mb s3://finnish-data --region fi
  aws --endpoint-url https://localhost:${S3GW_HTTPS_PORT:-8443} --no-verify-ssl s3api create-bucket --bucket german-data \\
      --create-bucket-configuration LocationConstraint=de-fra
then see where it went:  $bin buckets show finnish-data --config .state/s3gw-demo.toml
EOF2
