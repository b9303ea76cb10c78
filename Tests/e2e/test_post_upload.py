"""Browser form uploads (`POST /bucket`, multipart/form-data) as the S3 spec describes them:
https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html

Forms come from boto3 `generate_presigned_post` (SigV2 by default, SigV4 with `s3v4`) and minio-py
`presigned_post_policy`, and go up with requests and with `curl -F`. A policy violation is
refused (403 AccessDenied; 400 EntityTooLarge / EntityTooSmall for content-length-range, as AWS
answers) and stores nothing."""

import base64
import filecmp
import hashlib
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import urllib3

from conftest import REGION, assert_s3_error, empty_and_delete_bucket, new_bucket_name, s3_client

def versions():
    return pytest.mark.parametrize("signature_version", [None, "s3v4"], ids=["sigv2", "sigv4"])


def blob_files(gw) -> set:
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def presigned_post(gw, scheme, signature_version, bucket, key, fields=None, conditions=None, expires=300):
    client = s3_client(gw, scheme, signature_version=signature_version)
    form = client.generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires)
    if signature_version == "s3v4":
        assert form["fields"].get("x-amz-signature") and form["fields"].get("x-amz-algorithm") == "AWS4-HMAC-SHA256"
    else:
        assert form["fields"].get("signature") and form["fields"].get("AWSAccessKeyId") == gw.access_key
    assert form["url"] == f"{gw.url(scheme)}/{bucket}", form["url"]
    return form


def post(gw, scheme, form, data: bytes, filename="upload.bin", content_type="application/octet-stream", **extra):
    """The browser's request: the form fields, then the file as the last part."""
    fields = {**form["fields"], **extra}
    return requests.post(form["url"], data=fields, files={"file": (filename, data, content_type)},
                         allow_redirects=False, verify=gw.verify(scheme) or True, timeout=60)


def keys_of(gw, bucket):
    return [o["Key"] for o in s3_client(gw).list_objects_v2(Bucket=bucket).get("Contents", [])]


def stored(gw, bucket, key) -> bytes:
    return s3_client(gw).get_object(Bucket=bucket, Key=key)["Body"].read()


@versions()
def test_post_upload_answers_204_and_stores_the_file(gw, scheme, bucket, signature_version):
    key = "post/ü file+%~ (1).bin"
    data = os.urandom(256 * 1024 + 3)
    form = presigned_post(gw, scheme, signature_version, bucket, key)
    r = post(gw, scheme, form, data)
    assert r.status_code == 204, f"{r.status_code} {r.headers} {r.text[:1000]}"
    assert r.content == b""
    assert keys_of(gw, bucket) == [key]
    assert stored(gw, bucket, key) == data
    head = s3_client(gw).head_object(Bucket=bucket, Key=key)
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def post_response(body: bytes) -> dict:
    root = ET.fromstring(body)
    assert root.tag.rsplit("}", 1)[-1] == "PostResponse", body
    return {el.tag.rsplit("}", 1)[-1]: el.text for el in root}


@versions()
def test_post_success_action_status_201_returns_post_response(gw, scheme, bucket, signature_version):
    key = "docs/report.txt"
    data = b"quarterly numbers\n" * 100
    form = presigned_post(gw, scheme, signature_version, bucket, key,
                          fields={"success_action_status": "201", "Content-Type": "text/plain",
                                  "x-amz-meta-origin": "browser"},
                          conditions=[{"success_action_status": "201"}, {"Content-Type": "text/plain"},
                                      {"x-amz-meta-origin": "browser"}])
    r = post(gw, scheme, form, data, content_type="text/plain")
    assert r.status_code == 201, f"{r.status_code} {r.headers} {r.text[:1000]}"
    fields = post_response(r.content)
    assert fields["Bucket"] == bucket, r.text
    assert fields["Key"] == key, r.text
    assert fields["ETag"] == f'"{hashlib.md5(data).hexdigest()}"', r.text
    # S3 answers the object's absolute URL (https://s3.amazonaws.com/bucket/key, the key's `/` may
    # be %2F); path style here, so the gateway's own origin followed by /bucket/key.
    loc = urlsplit(fields["Location"])
    assert f"{loc.scheme}://{loc.netloc}" == gw.url(scheme), f"Location is not an absolute URL: {r.text}"
    assert unquote(loc.path) == f"/{bucket}/{key}", r.text
    head = s3_client(gw).head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"origin": "browser"}
    assert stored(gw, bucket, key) == data


@versions()
def test_post_success_action_redirect_answers_303(gw, scheme, bucket, signature_version):
    target = "https://app.example.test/uploaded?session=42"
    key = "redirect/photo.jpg"
    data = os.urandom(5000)
    form = presigned_post(gw, scheme, signature_version, bucket, key,
                          fields={"success_action_redirect": target},
                          conditions=[{"success_action_redirect": target}])
    r = post(gw, scheme, form, data)
    assert r.status_code == 303, f"{r.status_code} {r.headers} {r.text[:1000]}"
    loc = urlsplit(r.headers["Location"])
    assert (loc.scheme, loc.netloc, loc.path) == ("https", "app.example.test", "/uploaded"), r.headers["Location"]
    q = parse_qs(loc.query)
    assert q["session"] == ["42"], r.headers["Location"]
    assert q["bucket"] == [bucket] and q["key"] == [key], r.headers["Location"]
    assert q["etag"][0].strip('"') == hashlib.md5(data).hexdigest(), r.headers["Location"]
    assert stored(gw, bucket, key) == data


@versions()
def test_post_key_with_filename_variable(gw, bucket, signature_version):
    # boto3 adds ["starts-with", "$key", "uploads/"] for a key ending in ${filename}.
    form = presigned_post(gw, "http", signature_version, bucket, "uploads/${filename}")
    data = b"holiday picture"
    r = post(gw, "http", form, data, filename="photo 1+ü.jpg", content_type="image/jpeg")
    assert r.status_code == 204, f"{r.status_code} {r.text[:1000]}"
    assert keys_of(gw, bucket) == ["uploads/photo 1+ü.jpg"]
    assert stored(gw, bucket, "uploads/photo 1+ü.jpg") == data


@versions()
def test_post_upload_with_curl_form(gw, scheme, bucket, tmp_path, signature_version):
    key = "curl/form upload.bin"
    src = tmp_path / "form upload.bin"
    src.write_bytes(os.urandom(1024 * 1024 + 9))
    form = presigned_post(gw, scheme, signature_version, bucket, key,
                          fields={"success_action_status": "201"},
                          conditions=[{"success_action_status": "201"}, ["content-length-range", 1, 2 * 1024 * 1024]])
    cmd = ["curl", "-sS", "-o", str(tmp_path / "resp.xml"), "-w", "%{http_code}"]
    if scheme == "https":
        cmd += ["--cacert", gw.ca_file]
    for name, value in form["fields"].items():
        cmd += ["--form-string", f"{name}={value}"]  # literal values: no @file or <file reading
    cmd += ["-F", f"file=@{src}", form["url"]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    body = (tmp_path / "resp.xml").read_bytes()
    assert r.returncode == 0 and r.stdout == "201", f"{r.stdout} {r.stderr} {body[:1000]!r}"
    fields = post_response(body)
    assert (fields["Bucket"], fields["Key"]) == (bucket, key), body
    assert fields["ETag"] == f'"{hashlib.md5(src.read_bytes()).hexdigest()}"', body
    s3_client(gw).download_file(bucket, key, str(tmp_path / "back"))
    assert filecmp.cmp(src, tmp_path / "back", shallow=False)


def test_minio_presigned_post_policy(gw, scheme, bucket):
    from minio import Minio
    from minio.datatypes import PostPolicy

    port = gw.https_port if scheme == "https" else gw.http_port
    mc = Minio(f"127.0.0.1:{port}", access_key=gw.access_key, secret_key=gw.secret_key, secure=scheme == "https",
               region=REGION, http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=gw.ca_file))
    policy = PostPolicy(bucket, datetime.now(timezone.utc) + timedelta(minutes=5))
    policy.add_starts_with_condition("key", "minio/")
    policy.add_content_length_range_condition(1, 1024 * 1024)
    fields = mc.presigned_post_policy(policy)
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    data = os.urandom(70_000)
    url = f"{gw.url(scheme)}/{bucket}"
    r = requests.post(url, data={**fields, "key": "minio/obj.bin"}, files={"file": ("obj.bin", data)},
                      verify=gw.verify(scheme) or True, timeout=60)
    assert r.status_code == 204, f"{r.status_code} {r.text[:1000]}"
    assert stored(gw, bucket, "minio/obj.bin") == data
    # The same form cannot put a key outside its prefix.
    r = requests.post(url, data={**fields, "key": "elsewhere.bin"}, files={"file": ("obj.bin", data)},
                      verify=gw.verify(scheme) or True, timeout=60)
    assert_s3_error(r, 403, "AccessDenied")
    assert keys_of(gw, bucket) == ["minio/obj.bin"]


# -- policy violations: refused, nothing stored -----------------------------------------------------
def flip(value: str) -> str:
    # A different character that no case folding turns back into the original (a SigV4
    # signature is lowercase hex, a SigV2 one base64).
    return ("0" if value[0] != "0" else "1") + value[1:]


def violation(case, gw, signature_version, bucket):
    """Returns (form, data, extra fields, url override, allowed (status, code) answers)."""
    denied = {(403, "AccessDenied")}

    def pp(key="v/obj", **kw):
        return presigned_post(gw, "http", signature_version, bucket, key, **kw)

    if case == "content-length-too-large":
        return pp(conditions=[["content-length-range", 1, 100]]), b"x" * 101, {}, None, \
            {(400, "EntityTooLarge")} | denied
    if case == "content-length-too-small":
        return pp(conditions=[["content-length-range", 10, 100]]), b"x", {}, None, {(400, "EntityTooSmall")} | denied
    if case == "key-prefix":
        return pp("user/alice/${filename}"), b"x", {"key": "user/bob/evil"}, None, denied
    if case == "eq-mismatch":
        form = pp(fields={"Content-Type": "image/png"}, conditions=[{"Content-Type": "image/png"}])
        return form, b"x", {"Content-Type": "text/html"}, None, denied
    if case == "expired":
        return pp(expires=-60), b"x", {}, None, denied
    if case == "extra-field":
        return pp(), b"x", {"x-amz-meta-sneaky": "1"}, None, denied
    if case == "tampered-signature":
        form = pp()
        name = "x-amz-signature" if signature_version == "s3v4" else "signature"
        return form, b"x", {name: flip(form["fields"][name])}, None, denied | {(403, "SignatureDoesNotMatch")}
    if case == "tampered-policy":
        form = pp("user/alice/${filename}")
        doc = json.loads(base64.b64decode(form["fields"]["policy"]))
        doc["conditions"] = [c for c in doc["conditions"] if not (isinstance(c, list) and c[0] == "starts-with")]
        forged = base64.b64encode(json.dumps(doc).encode()).decode()
        return form, b"x", {"policy": forged, "key": "anything"}, None, denied | {(403, "SignatureDoesNotMatch")}
    if case == "other-bucket":
        return pp(), b"x", {}, "other", denied
    raise AssertionError(case)


VIOLATIONS = ["content-length-too-large", "content-length-too-small", "key-prefix", "eq-mismatch", "expired",
              "extra-field", "tampered-signature", "tampered-policy", "other-bucket"]


@versions()
@pytest.mark.parametrize("case", VIOLATIONS)
def test_post_policy_violation_stores_nothing(gw, bucket, signature_version, case):
    other = new_bucket_name("post-other")
    s3 = s3_client(gw)
    s3.create_bucket(Bucket=other)
    try:
        form, data, extra, url, answers = violation(case, gw, signature_version, bucket)
        if url == "other":
            form = {**form, "url": f"{gw.http_url}/{other}"}
        before = blob_files(gw)
        r = post(gw, "http", form, data, **extra)
        code = assert_s3_error(r, r.status_code)
        assert (r.status_code, code) in answers, f"{case}: {r.status_code} {r.text[:1000]}"
        assert keys_of(gw, bucket) == [] and keys_of(gw, other) == []
        assert blob_files(gw) == before
    finally:
        empty_and_delete_bucket(s3, other)


def test_post_without_policy_is_denied(gw, bucket):
    before = blob_files(gw)
    r = requests.post(f"{gw.http_url}/{bucket}", data={"key": "anon.txt"}, files={"file": ("anon.txt", b"hi")},
                      timeout=60)
    assert_s3_error(r, 403, "AccessDenied")
    assert keys_of(gw, bucket) == []
    assert blob_files(gw) == before


def test_post_metadata_over_2kb_is_refused_and_nothing_stored(gw, bucket):
    big = "v" * 2100
    form = presigned_post(gw, "http", "s3v4", bucket, "meta-heavy", fields={"x-amz-meta-big": big},
                          conditions=[{"x-amz-meta-big": big}])
    before = blob_files(gw)
    r = post(gw, "http", form, b"payload")
    assert_s3_error(r, 400, "MetadataTooLarge")
    assert "meta-heavy" not in keys_of(gw, bucket)
    assert blob_files(gw) == before
