#!/usr/bin/env bash
# test.sh — `make test`: every test tier, in order, with one summary line at the end.
#   1. build   swift build (debug)
#   2. unit    swift test (SigV4, S3 protocol and handler tests: no sockets)
#   3. e2e     python3 -m pytest Tests/e2e (real binary behind real nginx, real S3 clients), then
#              the client suites again with buckets on a remote zone (moto_server as provider),
#              and again with the metadata in PostgreSQL (3c)
# One throw-away PostgreSQL cluster (scripts/pg-cluster.sh) serves the whole run: the unit tests
# and the e2e pass on PostgreSQL find it in S3GW_TEST_POSTGRES; it is stopped by PID at the end.
# Exits non-zero if any tier fails. Extra pytest arguments: S3GW_E2E_ARGS="-k boto3 -x".
# S3GW_SKIP_DEPS=1 skips the dependency check (offline re-runs).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "${S3GW_SKIP_DEPS:-0}" != "1" ]; then
    scripts/install-test-deps.sh || { echo "SUMMARY: dependencies FAILED to install"; exit 1; }
fi

declare -A result=([build]=skipped [unit]=skipped [e2e]=skipped)
started=$SECONDS
logs="$(mktemp -d)"
trap 'scripts/pg-cluster.sh stop "$logs/pg" >/dev/null 2>&1; rm -rf "$logs"' EXIT

# S3GW_SKIP_POSTGRES_PASS=1: no cluster, no PostgreSQL passes (2b, 3c); the PostgreSQL unit tests
# start their own cluster, or skip where PostgreSQL is not installed.
if [ "${S3GW_SKIP_POSTGRES_PASS:-0}" != "1" ] &&
    ! S3GW_TEST_POSTGRES="$(scripts/pg-cluster.sh start "$logs/pg")"; then
    echo "SUMMARY: the test PostgreSQL cluster FAILED to start"
    exit 1
fi
[ -z "${S3GW_TEST_POSTGRES:-}" ] || export S3GW_TEST_POSTGRES

echo "==> [1/3] swift build"
if swift build; then
    result[build]=ok
    echo "==> [2/3] swift test"
    swift test 2>&1 | tee "$logs/unit.log"
    if [ "${PIPESTATUS[0]}" -eq 0 ]; then result[unit]=ok; else result[unit]=FAILED; fi
    # The metadata store's tests (every test class making its store through TestStores.swift,
    # and the classes deriving from those) once more on PostgreSQL.
    if [ "${S3GW_SKIP_POSTGRES_PASS:-0}" != "1" ]; then
        store_tests=$(grep -l "sqlStore(\|sqlConnection(\|TwoStores(" Tests/GatewayTests/*.swift |
            xargs sed -nE 's/^(final )?class ([A-Za-z0-9_]+): .*/\2/p' | sort -u)
        bases="$(echo "$store_tests" | paste -sd'|')"
        store_tests=$( (echo "$store_tests"
            sed -nE "s/^(final )?class ([A-Za-z0-9_]+): *($bases)\b.*/\2/p" Tests/GatewayTests/*.swift) |
            sort -u | paste -sd'|')
        echo "==> [2b/3] swift test: the metadata store's tests on PostgreSQL"
        S3GW_TEST_METADATA=postgres swift test --skip-build --filter "$store_tests" 2>&1 | tee "$logs/unit-pg.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || result[unit]=FAILED
        # A filter that matched (almost) nothing would pass silently.
        ran=$(sed -nE 's/.*Executed ([0-9]+) tests?, .*/\1/p' "$logs/unit-pg.log" | sort -n | tail -1)
        if [ "${ran:-0}" -lt 100 ]; then
            echo "tier 2b ran only ${ran:-0} tests on PostgreSQL"
            result[unit]=FAILED
        fi
    fi
    echo "==> [3/3] end-to-end (pytest Tests/e2e)"
    # shellcheck disable=SC2086
    S3GW_BIN="$root/.build/debug/s3gw" python3 -m pytest -q Tests/e2e ${S3GW_E2E_ARGS:-} 2>&1 | tee "$logs/e2e.log"
    e2e_rc=${PIPESTATUS[0]}
    # The client suites, run again on other footings, each with the suites whose outcome it can
    # change: 3b (remote zone) those that move bytes through a zone or stop them mid-way
    # (presigned and virtual-host addressing and feature refusals are decided before a zone is
    # touched); 3c (PostgreSQL) those whose requests read and write metadata in their own ways
    # (the presigned and virtual-host forms, chunk framing and the sync tools' wire habits change
    # how a request is verified or framed, not what it asks of the store).
    zone_suites=(
        Tests/e2e/test_boto3.py Tests/e2e/test_copy_delete.py Tests/e2e/test_tagging.py
        Tests/e2e/test_awscli.py Tests/e2e/test_s3cmd.py Tests/e2e/test_rclone.py Tests/e2e/test_minio.py
        Tests/e2e/test_negative.py Tests/e2e/test_signed_chunks.py
        Tests/e2e/test_sync_scenarios.py
        Tests/e2e/test_tool_behaviours.py Tests/e2e/test_object_lock.py Tests/e2e/test_lifecycle.py
        Tests/e2e/test_sse.py
    )
    store_suites=(
        Tests/e2e/test_boto3.py Tests/e2e/test_copy_delete.py Tests/e2e/test_tagging.py
        Tests/e2e/test_awscli.py Tests/e2e/test_s3cmd.py Tests/e2e/test_rclone.py Tests/e2e/test_minio.py
        Tests/e2e/test_refusals.py
        Tests/e2e/test_object_lock.py Tests/e2e/test_lifecycle.py Tests/e2e/test_sse.py
        Tests/e2e/test_versioning.py Tests/e2e/test_multipart.py Tests/e2e/test_tenants.py
        Tests/e2e/test_audit.py Tests/e2e/test_agent.py Tests/e2e/test_multihost.py
    )
    # The client suites once more, with every bucket on a remote zone (a moto_server provider).
    if [ -z "${S3GW_E2E_ARGS:-}" ] && [ "${S3GW_SKIP_REMOTE_PASS:-0}" != "1" ]; then
        echo "==> [3b/3] end-to-end again, buckets on a remote S3 zone"
        S3GW_E2E_ZONE=remote S3GW_BIN="$root/.build/debug/s3gw" python3 -m pytest -q "${zone_suites[@]}" 2>&1 |
            tee "$logs/e2e-remote.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || e2e_rc=1
    fi
    # And with the metadata in PostgreSQL (a fresh database per gateway on the run's cluster).
    if [ -z "${S3GW_E2E_ARGS:-}" ] && [ "${S3GW_SKIP_POSTGRES_PASS:-0}" != "1" ]; then
        echo "==> [3c/3] end-to-end again, metadata in PostgreSQL"
        S3GW_E2E_METADATA=postgres S3GW_BIN="$root/.build/debug/s3gw" python3 -m pytest -q "${store_suites[@]}" 2>&1 |
            tee "$logs/e2e-postgres.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || e2e_rc=1
    fi
    if [ "$e2e_rc" -eq 0 ]; then
        result[e2e]=ok
    else
        result[e2e]=FAILED
    fi
else
    result[build]=FAILED
fi

status=0
for tier in build unit e2e; do
    [ "${result[$tier]}" = ok ] || status=1
done
# Counts from both runners: XCTest's last "Executed N tests, with F failures" and pytest's
# closing "N passed, F failed" line (either part may be absent).
# ("with N test(s) skipped and F failures" when some were skipped; skipped ones are not passed).
unit_total=0
unit_skipped=0
unit_failed=0
for log in "$logs/unit.log" "$logs/unit-pg.log"; do
    unit_line=$(grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" \
        2>/dev/null | tail -1)
    n=$(sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p' <<<"$unit_line")
    sk=$(sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p' <<<"$unit_line")
    f=$(sed -nE 's/.* ([0-9]+) failures?.*/\1/p' <<<"$unit_line")
    unit_total=$((unit_total + ${n:-0}))
    unit_skipped=$((unit_skipped + ${sk:-0}))
    unit_failed=$((unit_failed + ${f:-0}))
done
e2e_passed=0
e2e_failed=0
for log in "$logs/e2e.log" "$logs/e2e-remote.log" "$logs/e2e-postgres.log"; do
    e2e_line=$(grep -E "^(=+ )?.*[0-9]+ (passed|failed)" "$log" 2>/dev/null | tail -1)
    n=$(grep -oE "[0-9]+ passed" <<<"$e2e_line" | grep -oE "[0-9]+")
    f=$(grep -oE "[0-9]+ (failed|error)" <<<"$e2e_line" | grep -oE "[0-9]+" | awk '{s+=$1} END {print s+0}')
    e2e_passed=$((e2e_passed + ${n:-0}))
    e2e_failed=$((e2e_failed + ${f:-0}))
done
passed=$(( ${unit_total:-0} - ${unit_skipped:-0} - ${unit_failed:-0} + ${e2e_passed:-0} ))
failed=$(( ${unit_failed:-0} + ${e2e_failed:-0} ))
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "tiers: build=${result[build]} unit=${result[unit]} e2e=${result[e2e]} ($((SECONDS - started))s) => $([ $status -eq 0 ] && echo PASS || echo FAIL)"
echo "SUMMARY: $passed passed, $failed failed"
exit $status
