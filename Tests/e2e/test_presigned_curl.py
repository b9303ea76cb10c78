"""Presigned URLs handed to curl, as a user shares them: GET and PUT, SigV2 (the default of boto3
and `aws s3 presign` v1) and SigV4, over HTTP and HTTPS, bytes compared; an expired URL is refused
with S3's 403 AccessDenied XML."""

import filecmp
import os
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import client_env, run, s3_client

KEY = "pre sign/ü+d~a%ta (1).bin"
AWS_V2 = "/usr/bin/aws"


def curl(gw, scheme, *args) -> subprocess.CompletedProcess:
    """curl as a user runs it: no globbing of [] {} in the URL, the gateway's CA over HTTPS.
    stdout is the HTTP status code; the body goes wherever `args` say."""
    cmd = ["curl", "-sS", "--globoff", "-w", "%{http_code}", *(["--cacert", gw.ca_file] if scheme == "https" else []),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def curl_get(gw, scheme, url, dest):
    r = curl(gw, scheme, "-o", str(dest), url)
    assert r.returncode == 0 and r.stdout == "200", f"GET {url} -> {r.stdout} {r.stderr}\n{dest.read_bytes()[:500]!r}"


def error_code_of(path) -> str:
    root = ET.fromstring(path.read_bytes())
    assert root.tag == "Error", path.read_text()
    fields = {el.tag: el.text for el in root}
    assert fields.get("Message") and fields.get("RequestId"), path.read_text()
    return fields["Code"]


def versions():
    return pytest.mark.parametrize("signature_version", [None, "s3v4"], ids=["sigv2", "sigv4"])


@versions()
def test_boto3_presigned_get_with_curl(gw, scheme, bucket, tmp_path, signature_version):
    src = tmp_path / "src"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 11))
    s3_client(gw, scheme).upload_file(str(src), bucket, KEY)
    url = s3_client(gw, scheme, signature_version=signature_version).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=300)
    assert ("X-Amz-Signature=" in url) == (signature_version == "s3v4"), url
    curl_get(gw, scheme, url, tmp_path / "got")
    assert filecmp.cmp(src, tmp_path / "got", shallow=False)
    # The URL names exactly one object: another key under the same signature is refused.
    other = url.replace("%281%29.bin", "%282%29.bin")
    assert other != url
    r = curl(gw, scheme, "-o", str(tmp_path / "denied"), other)
    assert r.stdout == "403", r.stdout
    assert error_code_of(tmp_path / "denied") in ("SignatureDoesNotMatch", "AccessDenied")
    # A page opened through the URL sends it as the Referer of what it loads next.
    curl(gw, scheme, "-o", "/dev/null", "-H", f"Referer: {url}", url)
    # nginx logged every request by path, without the URL's signature, even in a Referer.
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[
        "X-Amz-Signature" if signature_version == "s3v4" else "Signature"][0]
    log = (gw.nginx_prefix / "access.log").read_text()
    assert "(referer with credentials omitted)" in log
    assert f"GET /{bucket}/" in log
    assert signature not in log and urllib.parse.quote(signature, safe="") not in log


@versions()
def test_boto3_presigned_put_with_curl_upload(gw, scheme, bucket, tmp_path, signature_version):
    src = tmp_path / "src"
    src.write_bytes(os.urandom(2 * 1024 * 1024 + 3))  # large enough for curl's Expect: 100-continue
    url = s3_client(gw, scheme, signature_version=signature_version).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=300)
    r = curl(gw, scheme, "-T", str(src), "-o", str(tmp_path / "resp"), url)
    assert r.returncode == 0 and r.stdout == "200", f"{r.stdout} {r.stderr} {(tmp_path / 'resp').read_bytes()[:500]!r}"
    s3 = s3_client(gw, scheme)
    s3.download_file(bucket, KEY, str(tmp_path / "back"))
    assert filecmp.cmp(src, tmp_path / "back", shallow=False)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [KEY]


@pytest.mark.parametrize("cli", ["v1-sigv2", "v1-sigv4", "v2"])
def test_aws_cli_presign_with_curl(gw, scheme, bucket, tmp_path, cli):
    exe = "aws"
    if cli == "v2":
        if not os.access(AWS_V2, os.X_OK):
            pytest.skip(f"{AWS_V2} (Debian awscli, v2) is not installed: run scripts/install-test-deps.sh")
        exe = AWS_V2
    env = client_env(gw, scheme, tmp_path)
    run([exe, "configure", "set", "default.s3.addressing_style", "path"], env=env)
    if cli == "v1-sigv4":
        run([exe, "configure", "set", "default.s3.signature_version", "s3v4"], env=env)
    src = tmp_path / "src"
    src.write_bytes(os.urandom(1024 * 1024 + 1))
    s3_client(gw, scheme).upload_file(str(src), bucket, KEY)
    url = run([exe, "--endpoint-url", gw.url(scheme), "s3", "presign", f"s3://{bucket}/{KEY}", "--expires-in", "300"],
              env=env, stack=gw).stdout.strip()
    if cli == "v1-sigv2":
        assert "AWSAccessKeyId=" in url and "Signature=" in url, url  # v1's default is SigV2
    else:
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url, url
    curl_get(gw, scheme, url, tmp_path / "got")
    assert filecmp.cmp(src, tmp_path / "got", shallow=False)


def test_expired_presigned_urls_are_denied(gw, scheme, bucket, tmp_path):
    s3_client(gw, scheme).put_object(Bucket=bucket, Key=KEY, Body=b"short-lived")
    env = client_env(gw, scheme, tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    urls = {
        "boto3-sigv2-get": s3_client(gw, scheme, signature_version=None).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=1),
        "boto3-sigv4-get": s3_client(gw, scheme).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=1),
        "boto3-sigv2-put": s3_client(gw, scheme, signature_version=None).generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=1),
        "boto3-sigv4-put": s3_client(gw, scheme).generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=1),
        "awscli-v1": run(["aws", "--endpoint-url", gw.url(scheme), "s3", "presign", f"s3://{bucket}/{KEY}",
                          "--expires-in", "1"], env=env, stack=gw).stdout.strip(),
    }
    time.sleep(2.5)  # lets the URLs' one-second lifetime pass: crossing a clock boundary, not awaiting an event
    src = tmp_path / "late-body"
    src.write_bytes(b"must not be stored")
    for name, url in urls.items():
        out = tmp_path / f"{name}.xml"
        args = ["-T", str(src)] if name.endswith("-put") else []
        r = curl(gw, scheme, *args, "-o", str(out), url)
        assert r.stdout == "403", f"{name}: {r.stdout} {out.read_bytes()[:500]!r}"
        assert error_code_of(out) == "AccessDenied", f"{name}: {out.read_text()}"
    keys = [o["Key"] for o in s3_client(gw, scheme).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [KEY]
