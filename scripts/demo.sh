#!/usr/bin/env bash
# demo.sh — `make demo`: `make run` with a demo catalog of four zones in three countries, so
# residency can be seen on one machine:
#   se-sto-fs-1    filesystem zone, country se, region se-sto (the default)
#   fi-hel-demo-1  a moto_server on 127.0.0.1 (first port),  country fi, region fi-hel
#   fi-tku-fs-1    filesystem zone, country fi, region fi-tku
#   de-fra-demo-1  a moto_server on 127.0.0.1 (second port), country de, region de-fra
#   S3GW_DEMO_PROVIDER_PORTS (19001,19002)   the two providers' ports
#   S3GW_DEMO_TOUR=0                         start it all but skip the scripted tour
# Then a tour with the aws CLI (skipped if it is not installed): buckets constrained to `fi`,
# `fi,de` and one zone, replica-count 2, copies made by the agent, the Finnish provider stopped
# (SIGSTOP: it hangs, as a provider that stops answering) while reads fall back to the other
# Finnish zone, writes answer 503 within the bound and then the buckets fail over inside their
# constraints, then continued (copies caught up, the primary moved back by hand);
# `s3gw replication status` and `s3gw audit residency` at the end.
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
# The providers start empty, so the demo's metadata and zones start afresh too.
rm -rf "$state/demo"
mkdir -p "$state/demo/zones/se-sto-fs-1" "$state/demo/zones/fi-tku-fs-1"
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
health_interval = 2
# A provider that stops answering costs a request at most this long (seconds).
zone_response_timeout = 3

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
name = "fi-tku-fs-1"
country = "fi"
region = "fi-tku"
kind = "filesystem"
path = "$state/demo/zones/fi-tku-fs-1"

[[zones]]
name = "de-fra-demo-1"
country = "de"
region = "de-fra"
kind = "s3"
endpoint = "http://127.0.0.1:$de_port"
access_key = "demo"
secret_key = "demo-secret"

[replication]
workers = 2
retry_base = 1
retry_max = 10
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

[ "${S3GW_DEMO_TOUR:-1}" != "0" ] || exit 0
if ! command -v aws >/dev/null 2>&1; then
    echo "(the residency tour needs the aws CLI: scripts/install-test-deps.sh installs it)"
    exit 0
fi

# -- the tour -------------------------------------------------------------------------------
cfg="$state/s3gw-demo.toml"
endpoint="http://127.0.0.1:${S3GW_HTTP_PORT:-8080}"
fi_pid="$(cat "$state/moto-$fi_port.pid")"
if [ -z "${S3GW_ACCESS_KEY:-}" ]; then
    # shellcheck disable=SC1091
    . "$state/demo/root-credentials"
fi
export AWS_ACCESS_KEY_ID="$S3GW_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3GW_SECRET_KEY" AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE="$state/demo/aws-config" AWS_SHARED_CREDENTIALS_FILE="$state/demo/aws-credentials"
export AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
work="$state/demo/tour"
mkdir -p "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Each command is shown as typed (the aws CLI's --endpoint-url and s3gw's --config left out).
aws_() { echo "\$ aws $*"; aws --endpoint-url "$endpoint" "$@"; }
s3gw_() { echo "\$ s3gw $*"; "$bin" "$@" --config "$cfg"; }
# The response headers of a GET (curl signs it with SigV4): which zone served, the copies' states.
headers() {
    echo "\$ curl --aws-sigv4 ... $endpoint/$1   # response headers"
    local t0 t1
    t0=$(date +%s.%N)
    curl -sS -o /dev/null -D - --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" \
        -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$endpoint/$1" |
        grep -iE '^(HTTP/|x-s3gw-|x-amz-replication-status)' | tr -d '\r' | sed 's/^/    /'
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "    (%.2f s)\n", b - a }'
}
# Seconds a command took, printed after its output.
timed() {
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    "$@" || rc=$?
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v rc="$rc" 'BEGIN { printf "    (%.2f s, exit %d)\n", b - a, rc }'
}
replicated() { # BUCKET KEY: waits (up to 60 s) until the object's replicas are COMPLETED
    for _ in $(seq 1 120); do
        [ "$(aws --endpoint-url "$endpoint" s3api head-object --bucket "$1" --key "$2" \
            --query ReplicationStatus --output text 2>/dev/null)" = COMPLETED ] && return 0
        sleep 0.5
    done
    echo "demo: $1/$2 did not reach COMPLETED within 60 s" >&2
}
zone_state() { "$bin" zones --config "$cfg" | awk -v z="$1" '$1 == z { print $6 }'; }
wait_zone() { # ZONE STATE: waits (up to 60 s) for the health checker to see it
    for _ in $(seq 1 120); do
        [ "$(zone_state "$1")" = "$2" ] && return 0
        sleep 0.5
    done
    echo "demo: $1 did not become $2 within 60 s" >&2
}
wait_primary() { # BUCKET ZONE: waits (up to 60 s) for the agent's failover
    for _ in $(seq 1 120); do
        "$bin" buckets show "$1" --config "$cfg" | grep -qE "^primary zone +$2 " && return 0
        sleep 0.5
    done
    echo "demo: $1 did not fail over to $2 within 60 s" >&2
}
resume_fi() { kill -CONT -- "-$fi_pid" 2>/dev/null || true; }
trap resume_fi EXIT
head -c 1048576 /dev/urandom >"$work/contract.pdf"
head -c 262144 /dev/urandom >"$work/q3.csv"
echo "meeting notes" >"$work/notes.txt"

echo
echo "A tour of residency and replicas (aws commands run with --endpoint-url $endpoint,"
echo "s3gw commands with --config .state/s3gw-demo.toml)."

step "1. Three buckets: Finland only, Finland then Germany, one Swedish zone"
aws_ s3api create-bucket --bucket finnish-data --create-bucket-configuration LocationConstraint=fi \
    --output text --query Location
aws_ s3api create-bucket --bucket fi-de-reports --create-bucket-configuration '{"LocationConstraint": "fi,de"}' \
    --output text --query Location
aws_ s3api create-bucket --bucket stockholm-only --create-bucket-configuration LocationConstraint=se-sto-fs-1 \
    --output text --query Location
# Every object of finnish-data gets two copies, both in Finland (a provider and a filesystem zone).
s3gw_ buckets replicas finnish-data 2
s3gw_ buckets show finnish-data
s3gw_ buckets show fi-de-reports | grep -E "constraint|zone "

step "2. Objects and their copies"
aws_ s3api put-object --bucket finnish-data --key contract.pdf --body "$work/contract.pdf" --output text \
    --query ETag
aws_ s3api put-object --bucket fi-de-reports --key q3.csv --body "$work/q3.csv" --tagging replica-count=2 \
    --output text --query ETag
echo "# one zone allows one copy: replica-count 2 is refused, nothing is stored"
aws_ s3api put-object --bucket stockholm-only --key notes.txt --body "$work/notes.txt" \
    --tagging replica-count=2 2>&1 | sed '1!s/^/    /' || true
aws_ s3api put-object --bucket stockholm-only --key notes.txt --body "$work/notes.txt" --output text --query ETag
replicated finnish-data contract.pdf
replicated fi-de-reports q3.csv
headers finnish-data/contract.pdf
headers fi-de-reports/q3.csv
s3gw_ replication status finnish-data
s3gw_ replication status fi-de-reports

step "3. The Finnish provider stops answering (kill -STOP $fi_pid: it hangs)"
kill -STOP -- "-$fi_pid"
echo "# reads fall back to the other Finnish zone; the provider costs at most its 3 s bound"
headers finnish-data/contract.pdf
echo "# writes go to the primary, which hangs: 503 within the bound, nothing stored"
timed aws_ s3api put-object --bucket finnish-data --key new.txt --body "$work/notes.txt" 2>&1 | sed '1!s/^/    /'
echo "# other countries do not notice"
timed aws_ s3api put-object --bucket stockholm-only --key more.txt --body "$work/notes.txt" --output text \
    --query ETag
echo "# the health checker marks the zone down after three failed probes; reads skip it at once,"
wait_zone fi-hel-demo-1 down
s3gw_ zones
headers finnish-data/contract.pdf
echo "# and the agent fails each bucket over to its next zone the constraint allows: finnish-data to"
echo "# fi-tku-fs-1 (Finland only), fi-de-reports to de-fra-demo-1 (Germany is allowed there)"
wait_primary finnish-data fi-tku-fs-1
wait_primary fi-de-reports de-fra-demo-1
s3gw_ buckets show finnish-data | grep -E " zone "
s3gw_ buckets show fi-de-reports | grep -E " zone "
echo "# writes work again; the copy for the old primary waits until it is back"
aws_ s3api put-object --bucket finnish-data --key new.txt --body "$work/notes.txt" --output text --query ETag
s3gw_ replication status finnish-data new.txt

step "4. The provider continues (kill -CONT $fi_pid)"
resume_fi
wait_zone fi-hel-demo-1 healthy
s3gw_ zones | awk 'NR <= 2 || $1 == "fi-hel-demo-1"'
echo "# its waiting copies are made and a repair pass checks what it should hold; it is not made"
echo "# primary again by itself"
replicated finnish-data new.txt
s3gw_ replication status finnish-data
echo "# an operator moves the primary back by hand"
s3gw_ failover promote finnish-data fi-hel-demo-1
sleep 2 # workers keep what the checker saw for up to 2 s
headers finnish-data/new.txt
s3gw_ replication status
if "$bin" --help | grep -E '^  audit ' >/dev/null; then
    step "5. The residency audit: every zone read directly, held against metadata and constraints"
    echo "# (the write that answered 503 may show as an orphan: the hung provider finished storing it"
    echo "# after the gateway had given up; the agent removes it once older than [replication] orphan_grace)"
    s3gw_ audit residency || true
fi
cat <<EOF2

The stack keeps running: explore with the aws CLI and \`$bin ... --config .state/s3gw-demo.toml\`
(buckets show, replication status, zones); docs/RESIDENCY.md explains the model. \`make stop\` stops it.
EOF2
