#!/usr/bin/env bash
# Installs what the test tiers need on top of install-deps.sh: the S3 clients the end-to-end
# suite drives (aws CLI v1 and v2, boto3, s3cmd, rclone, minio-py), moto, pytest, schemathesis, wrk
# and valgrind (callgrind's instruction counts) for `make bench`, headless Chromium with selenium for the web UI's browser tests,
# Prometheus (server and promtool) for the metrics tests, and PostgreSQL's server (initdb, pg_ctl).
# Only what is missing is installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

"$here/install-deps.sh"

missing=()
for cmd in s3cmd rclone wrk valgrind; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# aws CLI v2 from Debian (bookworm ships 2.9.19) at /usr/bin/aws, beside the PyPI v1 `aws` that
# comes first on PATH; the e2e sync scenarios drive both. Skipped where the release lacks it.
if [ ! -x /usr/bin/aws ] && apt_has_candidate awscli; then missing+=(awscli); fi
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# The web UI's browser tests (Tests/e2e/test_web_ui.py) drive Debian's Chromium through its
# chromedriver; both from the same release, so their versions match.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
apt_install "${missing[@]}"

# A real Prometheus server and promtool for the metrics tests (Tests/e2e/test_metrics.py), which
# start their own server on a free 127.0.0.1 port and stop it by PID; the package's service (:9090)
# is not started.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt_install_no_service prometheus.service prometheus
fi
# PostgreSQL's server for the metadata store's tests and the e2e pass on PostgreSQL: they start
# throw-away clusters with initdb/pg_ctl (scripts/pg-cluster.sh), never the system service.
if ! "$here/pg-cluster.sh" bindir >/dev/null 2>&1; then
    apt_install_no_service postgresql.service postgresql
fi

# PyPI: module to import (or command to find) -> requirement to install.
pip_missing=()
py_has() { python3 -c "import $1" >/dev/null 2>&1; }
# The PyPI aws CLI is v1; Debian's /usr/bin/aws (v2) does not count.
{ aws --version 2>&1 | grep -q '^aws-cli/1\.'; } || py_has awscli || pip_missing+=(awscli)
py_has boto3 || pip_missing+=(boto3)
py_has minio || pip_missing+=(minio)
py_has moto.server || pip_missing+=("moto[server]")
py_has pytest || pip_missing+=(pytest)
py_has requests || pip_missing+=(requests)
# The admin API's check against docs/admin-api.yaml (Tests/e2e/test_admin_api_schema.py).
py_has schemathesis || pip_missing+=("schemathesis>=4,<5")
py_has yaml || pip_missing+=(pyyaml)
# The snapshot fixtures against docs/snapshot.schema.json (Tests/e2e/test_snapshot_schema.py).
py_has jsonschema || pip_missing+=(jsonschema)
# The browser tests' WebDriver client (Tests/e2e/test_web_ui.py).
py_has selenium || pip_missing+=(selenium)

if [ "${#pip_missing[@]}" -gt 0 ]; then
    echo "pip install: ${pip_missing[*]}" >&2
    # Debian's system python is "externally managed" (PEP 668); the test clients live beside it.
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check "${pip_missing[@]}"
fi
