#!/usr/bin/env bash
# run.sh — `make bench`: release build, then bench/bench.py, bench/accel.py, bench/remote.py and
# bench/replication.py, bench/replication_agents.py, bench/discovery.py, bench/observability.py, bench/versioning.py, bench/encryption.py,
# bench/metadata_stores.py (see their docstrings for what they measure and the BENCH_* knobs).
# S3GW_BIN=path skips the build and benchmarks that binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-test-deps.sh
if [ -z "${S3GW_BIN:-}" ]; then
    swift build -c release
    export S3GW_BIN="$root/.build/release/s3gw"
fi
# bench.py prints the one table of every figure issue 15 names, with its target: GET/PUT against
# nginx, the listing latency in a bucket of 1 M objects (bench/listing.py, BENCH_LISTING=0 skips),
# the workers' RSS growth and the instructions per 4 KiB GET and PUT under callgrind
# (bench/callgrind.py, a few minutes, BENCH_CALLGRIND=0 skips).
python3 bench/bench.py
# Filesystem-zone GETs sent by nginx (accel_redirect on vs off vs nginx alone): BENCH_ACCEL=0 skips.
[ "${BENCH_ACCEL:-1}" = "0" ] || python3 bench/accel.py
# Remote zones (moto_server as the provider): BENCH_REMOTE=0 skips.
[ "${BENCH_REMOTE:-1}" = "0" ] || python3 bench/remote.py
# Replication between zones and reads around a hung provider (about a minute): BENCH_REPLICATION=0 skips.
[ "${BENCH_REPLICATION:-1}" = "0" ] || python3 bench/replication.py
# Replication throughput with two gateway hosts' agents against one (docs/HOSTS.md): BENCH_AGENTS=0 skips.
[ "${BENCH_AGENTS:-1}" = "0" ] || python3 bench/replication_agents.py
# Discovery of a synthetic 10k- and 100k-object account (memory must stay flat): BENCH_DISCOVERY=0 skips.
[ "${BENCH_DISCOVERY:-1}" = "0" ] || python3 bench/discovery.py
# The cost of the operations log, metrics and audit chain (on vs off, 4 KiB GET/PUT): BENCH_OBSERVABILITY=0 skips.
[ "${BENCH_OBSERVABILITY:-1}" = "0" ] || python3 bench/observability.py
# What versioning costs (4 KiB PUT/GET unversioned vs Enabled, paging one key's versions): BENCH_VERSIONING=0 skips.
[ "${BENCH_VERSIONING:-1}" = "0" ] || python3 bench/versioning.py
# What SSE-S3 costs (1 MiB and 1 GiB PUT/GET, encrypted vs plain bucket): BENCH_ENCRYPTION=0 skips.
[ "${BENCH_ENCRYPTION:-1}" = "0" ] || python3 bench/encryption.py
# Small requests with the metadata in PostgreSQL against SQLite (a throw-away cluster): BENCH_METADATA=0 skips.
[ "${BENCH_METADATA:-1}" = "0" ] || python3 bench/metadata_stores.py
