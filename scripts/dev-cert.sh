#!/usr/bin/env bash
# dev-cert.sh DIR — creates DIR/cert.pem and DIR/key.pem once: a self-signed certificate for
# localhost and 127.0.0.1 (valid 10 years). Clients trust it with AWS_CA_BUNDLE=DIR/cert.pem.
set -euo pipefail

dir="${1:?usage: dev-cert.sh DIR}"
mkdir -p "$dir"
if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ]; then
    exit 0
fi
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" >/dev/null 2>&1
chmod 0644 "$dir/cert.pem.tmp"
mv "$dir/key.pem.tmp" "$dir/key.pem"
mv "$dir/cert.pem.tmp" "$dir/cert.pem"
