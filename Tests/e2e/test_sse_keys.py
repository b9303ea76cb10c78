"""Key rotation end to end, with boto3 and the admin command line: SSE-S3, SSE-KMS and SSE-C
objects (a noncurrent version, a multipart object, an unfinished upload) written, the KMS key
and the tenant's SSE-S3 key rotated through the admin API, `s3gw keys rewrap` re-wrapping every
data key under the current KEK versions, `s3gw keys rotate` re-sealing every KEK under a new
master key, a restart — and every object reads back identical while no stored byte in the zone
ever changed (only envelopes in the metadata did)."""

import hashlib
import io
import json
import os
import re
import sqlite3

import pytest
from boto3.s3.transfer import TransferConfig

from admin_api import admin
from admin_cli import cli
from conftest import Stack, new_bucket_name, s3_client

TENANT = "default"
KEY = bytes(range(32))
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def gw():
    s = Stack("ssekeys").start()
    yield s
    s.stop()
    s.cleanup()


def stored_hashes(gw) -> dict:
    """SHA-256 of every blob file of the filesystem zone."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def assert_unchanged(gw, before: dict) -> None:
    """Every blob file of `before` is still there with the same bytes."""
    now = stored_hashes(gw)
    for path, digest in before.items():
        assert now.get(path) == digest, f"{path} changed"


def envelopes(gw) -> list[dict]:
    """Every envelope in the metadata: object versions (latest and noncurrent) and uploads."""
    db = sqlite3.connect(f"file:{gw.state_dir / 'metadata.sqlite'}?mode=ro", uri=True)
    try:
        rows = []
        for table, ident in (("objects", "key"), ("object_versions", "key"), ("uploads", "upload_id")):
            for name, sse in db.execute(f"SELECT {ident}, sse FROM {table} WHERE sse <> ''"):
                rows.append({"table": table, "name": name, **json.loads(sse)})
        return rows
    finally:
        db.close()


def audited(gw, change: str) -> list[dict]:
    db = sqlite3.connect(f"file:{gw.state_dir / 'metadata.sqlite'}?mode=ro", uri=True)
    try:
        return [json.loads(d) for (d,) in db.execute("SELECT detail FROM audit_log WHERE change = ?", (change,))]
    finally:
        db.close()


def keys_of(gw) -> dict:
    r = admin(gw, "GET", f"tenants/{TENANT}/kms-keys")
    assert r.status_code == 200, r.text
    return {k["id"]: k for k in r.json()["items"]}


def rewrap_counts(out: str) -> tuple[int, int, int, int]:
    m = re.search(r"re-wrapped (\d+) data key\(s\); (\d+) already current; (\d+) SSE-C skipped; (\d+) failed", out)
    assert m, out
    return tuple(int(g) for g in m.groups())


def read_all(gw, bucket: str, expected: dict) -> None:
    """Every (key, version id) reads back byte for byte (SSE-C ones with the customer key, over TLS)."""
    tls = s3_client(gw, "https")
    for (key, version, customer), data in expected.items():
        extra = SSE_C if customer else {}
        args = {"VersionId": version} if version else {}
        got = tls.get_object(Bucket=bucket, Key=key, **args, **extra)["Body"].read()
        assert got == data, f"{key} {version} does not read back"
        at = len(data) // 2 + 1000  # past the first segment: only its segments are read and opened
        ranged = tls.get_object(Bucket=bucket, Key=key, Range=f"bytes={at}-{at + 99}", **args, **extra)["Body"].read()
        assert ranged == data[at:at + 100]


def test_rotate_rewrap_and_master_key_rotation_never_touch_stored_bytes(gw):
    client = s3_client(gw)
    tls = s3_client(gw, "https")
    bucket = new_bucket_name("keys")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = admin(gw, "POST", f"tenants/{TENANT}/kms-keys", {"alias": "rot"})
    assert made.status_code == 201, made.text
    kms = made.json()

    expected = {}

    def put(key, data, customer=False, **sse):
        r = (tls if customer else client).put_object(Bucket=bucket, Key=key, Body=data, **(SSE_C if customer else sse))
        expected[(key, r["VersionId"], customer)] = data
        return r

    put("s3", os.urandom(200_000), ServerSideEncryption="AES256")
    put("kms", os.urandom(150_000), ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/rot")
    put("kms", os.urandom(120_000), ServerSideEncryption="aws:kms", SSEKMSKeyId=kms["id"])  # the old one: noncurrent
    put("default-kms", os.urandom(90_000), ServerSideEncryption="aws:kms")  # the tenant's aws/s3 key
    put("customer", os.urandom(100_000), customer=True)
    big = os.urandom(11 * MB)
    client.upload_fileobj(io.BytesIO(big), bucket, "multipart",
                          ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/rot"},
                          Config=TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB))
    head = client.head_object(Bucket=bucket, Key="multipart")
    assert head["ServerSideEncryption"] == "aws:kms" and head["ETag"].endswith('-3"'), head
    expected[("multipart", head["VersionId"], False)] = big
    # An unfinished upload, one part in before the rotation, finished after everything.
    part1 = os.urandom(5 * MB)
    up = client.create_multipart_upload(Bucket=bucket, Key="unfinished", ServerSideEncryption="aws:kms",
                                        SSEKMSKeyId="alias/rot")["UploadId"]
    etag1 = client.upload_part(Bucket=bucket, Key="unfinished", UploadId=up, PartNumber=1, Body=part1)["ETag"]
    read_all(gw, bucket, expected)

    before = stored_hashes(gw)
    assert before, "the objects are in the filesystem zone"
    first = envelopes(gw)
    encrypted = [e for e in first if e["m"] != "SSE-C"]
    assert {e["kv"] for e in encrypted} == {1} and len([e for e in first if e["m"] == "SSE-C"]) == 1
    # objects: s3, kms, default-kms, multipart (+ customer); versions: the noncurrent kms; the upload.
    assert len([e for e in encrypted if e["table"] != "uploads"]) == 5 and len(encrypted) == 6, first

    # Both keys rotated: the KMS key through the admin API, the tenant's SSE-S3 key likewise.
    sse_s3 = next(k for k in keys_of(gw).values() if k["kind"] == "sse-s3")
    for key_id in (kms["id"], sse_s3["id"]):
        r = admin(gw, "POST", f"tenants/{TENANT}/kms-keys/{key_id}/rotate")
        assert r.status_code == 200 and r.json()["versions"] == 2, r.text
    after_rotation = os.urandom(80_000)
    put("after-rotation", after_rotation, ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/rot")
    read_all(gw, bucket, expected)

    # Only the KMS key first: the SSE-S3 key's envelopes stay where they are.
    r = cli(gw, "keys", "rewrap", "--key", kms["id"])
    rewrapped, current, skipped, failed = rewrap_counts(r.stdout)
    assert (rewrapped, current, failed) == (4, 1, 0), r.stdout  # kms ×2, multipart, the upload; after-rotation
    mid = envelopes(gw)
    assert all(e["kv"] == 2 for e in mid if e["k"] == kms["id"]), mid
    assert all(e["kv"] == 1 for e in mid if e["k"] == sse_s3["id"]), mid
    # Everything else.
    r = cli(gw, "keys", "rewrap")
    assert rewrap_counts(r.stdout) == (2, 5, 1, 0), r.stdout
    again = cli(gw, "keys", "rewrap")
    assert rewrap_counts(again.stdout) == (0, 7, 1, 0), again.stdout
    rewrapped_rows = envelopes(gw)
    for e in rewrapped_rows:
        if e["m"] != "SSE-C":
            assert e["kv"] == 2, e
    # Only kv and the wrapped key changed; the tag digests and segment sizes are as they were.
    digests = lambda rows: sorted((e["table"], e["name"], e["td"], e["s"], e["m"], e["k"]) for e in rows)
    assert digests(rewrapped_rows) == digests(first + [e for e in mid if e["name"] == "after-rotation"])
    assert sum(a["count"] for a in audited(gw, "keys.rewrap")) == 6
    read_all(gw, bucket, expected)
    assert_unchanged(gw, before)

    # A new master key: every KEK version re-sealed, objects untouched, through running workers.
    key_file = gw.state_dir / "master-key"
    old_master = key_file.read_text().strip()
    r = cli(gw, "keys", "rotate")
    assert "re-sealed 4 KEK version(s)" in r.stdout, r.stdout  # two keys, two versions each
    assert old_master not in r.stdout + r.stderr
    new_master = key_file.read_text().strip()
    assert new_master != old_master and len(new_master.split()) == 1
    new_id = r.stdout.split("(id ")[1][:8]
    db = sqlite3.connect(f"file:{gw.state_dir / 'metadata.sqlite'}?mode=ro", uri=True)
    sealed = [v["sealed"] for (versions,) in db.execute("SELECT versions FROM kms_keys") for v in json.loads(versions)]
    db.close()
    assert len(sealed) == 4 and all(s.startswith(f"v1:{new_id}:") for s in sealed), sealed
    assert sum(a["count"] for a in audited(gw, "keys.kek-resealed")) == 4
    read_all(gw, bucket, expected)
    # Workers started before the rotation seal what they make from now on under the new master
    # key (the file holds no other): a new key, and a new version of an existing one.
    made = admin(gw, "POST", f"tenants/{TENANT}/kms-keys", {"alias": "late"})
    assert made.status_code == 201, made.text
    put("late-key", os.urandom(60_000), ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/late")
    assert admin(gw, "POST", f"tenants/{TENANT}/kms-keys/{kms['id']}/rotate").status_code == 200
    put("late-version", os.urandom(60_000), ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/rot")
    db = sqlite3.connect(f"file:{gw.state_dir / 'metadata.sqlite'}?mode=ro", uri=True)
    sealed = [v["sealed"] for (versions,) in db.execute("SELECT versions FROM kms_keys") for v in json.loads(versions)]
    db.close()
    assert len(sealed) == 6 and all(s.startswith(f"v1:{new_id}:") for s in sealed), sealed
    assert_unchanged(gw, before)

    # After a restart the gateway holds only the new master key.
    gw.stop()
    gw.start()
    client, tls = s3_client(gw), s3_client(gw, "https")
    read_all(gw, bucket, expected)
    # New writes under the re-sealed KEKs; the unfinished upload completes with its re-wrapped key.
    put("after-restart", os.urandom(70_000), ServerSideEncryption="AES256")
    part2 = os.urandom(1 * MB)
    etag2 = client.upload_part(Bucket=bucket, Key="unfinished", UploadId=up, PartNumber=2, Body=part2)["ETag"]
    done = client.complete_multipart_upload(
        Bucket=bucket, Key="unfinished", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]})
    expected[("unfinished", done["VersionId"], False)] = part1 + part2
    read_all(gw, bucket, expected)
    assert_unchanged(gw, before)
    # The rotated KMS key keeps every version (nothing dropped); rewrap moves what version 2
    # wraps to version 3, and then finds nothing left.
    assert keys_of(gw)[kms["id"]]["versions"] == 3
    assert rewrap_counts(cli(gw, "keys", "rewrap", "--key", kms["id"]).stdout) == (5, 1, 0, 0)
    assert rewrap_counts(cli(gw, "keys", "rewrap").stdout) == (0, 10, 1, 0)
    read_all(gw, bucket, expected)
    assert_unchanged(gw, before)


def test_rewrap_refuses_an_unknown_key(gw):
    r = cli(gw, "keys", "rewrap", "--key", "no-such-key", check=False)
    assert r.returncode == 1 and "no key no-such-key" in r.stderr, r.stderr
    r = cli(gw, "keys", "rewrap", "--tenant", "nobody", check=False)
    assert r.returncode == 0 and rewrap_counts(r.stdout) == (0, 0, 0, 0), r.stdout
