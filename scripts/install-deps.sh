#!/usr/bin/env bash
# Installs the system packages s3gw needs to build and run (Debian/Ubuntu, apt).
# Only what is missing is installed; when everything is present this returns at once.
# The Swift toolchain itself is not an apt package: install it from swift.org (swiftly).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

missing=()
if ! command -v nginx >/dev/null 2>&1; then
    # nginx-light (Debian 12) is enough and includes the dav module the benchmark uses;
    # newer releases only ship `nginx`.
    if apt_has_candidate nginx-light; then missing+=(nginx-light); else missing+=(nginx); fi
fi
# libnginx-mod-http-js: njs, whose header filter (nginx/s3gw.js) puts the gateway's headers on
# the GETs nginx answers from a zone's files (X-Accel-Redirect).
# libpq-dev: the PostgreSQL metadata store's client library (linked whether or not it is used).
for pkg in libnginx-mod-http-js libfcgi-dev libsqlite3-dev libpq-dev libssl-dev libcurl4-openssl-dev zlib1g-dev openssl curl ca-certificates; do
    pkg_installed "$pkg" || missing+=("$pkg")
done

apt_install "${missing[@]}"

if ! command -v swift >/dev/null 2>&1; then
    echo "install-deps: the Swift toolchain (6.0 or newer) is not on PATH; install it from https://swift.org/install" >&2
    exit 1
fi
