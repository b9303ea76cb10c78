"""Server-side encryption as the zones see it (docs/ENCRYPTION.md): for SSE-S3, SSE-KMS (a key made
through the admin API) and SSE-C, on a filesystem zone and on a moto provider zone, every byte
found in a zone — the filesystem's files and the provider's objects read directly — is ciphertext
(no plaintext marker, two uploads of the same content stored differently), in the stream format's
size, and reads back identical (full, seeded random ranges, ranges across 64 KiB segments and
multipart parts, copies). Replicas of single PUTs, multipart objects and copies in the second
country are ciphertext too, are re-made by `s3gw repair` when lost, and serve every mode alone
when the primary zone is gone. Secrecy: the master key and every KEK and DEK unsealed in the test
(proved real by decrypting a blob with one) are in no file of the installation or the provider.
S3GW_E2E_ZONE does not change this file: it always uses both kinds of zone."""

import base64
import hashlib
import hmac
import io
import json
import os
import random
import sqlite3
import subprocess

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import Stack, new_bucket_name, provider_zone, s3_client, s3gw_bin, wait_until

TENANT = "default"
SEGMENT = 65536
PART = 5 * 1024 * 1024
MARKER = b"<<s3gw-plaintext-marker>>"
CUSTOMER_KEY = bytes(range(100, 132))
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
MODES = ["sse-s3", "sse-kms", "sse-c"]
# The two countries' zones: a bucket constrained to "se" lives in the filesystem, "fi" in moto.
ZONES = {"local-1": "se", "fi-hel-1": "fi"}


@pytest.fixture(scope="module")
def gw(fi):
    extra = f"""{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port, response_timeout=60)}
[replication]
workers = 2
max_attempts = 5
retry_base = 1
# The primary taken away below must stay primary: reads go to the replica.
failover = "manual"
scrub_per_hour = 0
"""
    stack = Stack("sse-zones", workers=2, extra=extra, storage_extra="health_interval = 1").start()
    yield stack
    stack.stop()
    stack.cleanup()


@pytest.fixture(scope="module")
def kms_key(gw):
    from test_admin_api import admin
    made = admin(gw, "POST", f"tenants/{TENANT}/kms-keys", {"alias": "sse-zones"})
    assert made.status_code == 201, made.text
    return made.json()


def write_args(mode, kms_key):
    return {"sse-s3": {"ServerSideEncryption": "AES256"},
            "sse-kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key["arn"]},
            "sse-c": SSE_C}[mode]


def read_args(mode):
    return SSE_C if mode == "sse-c" else {}


def marked(n: int, seed: str) -> bytes:
    """n random bytes (seeded) with MARKER every 1000 bytes: any 1 KiB of stored plaintext holds it."""
    rnd = random.Random(seed)
    out = bytearray(rnd.randbytes(n))
    for at in range(0, n - len(MARKER), 1000):
        out[at:at + len(MARKER)] = MARKER
    return bytes(out)


def stored_size(n: int) -> int:
    return 16 + n + 16 * max(1, -(-n // SEGMENT))


# -- every zone's bytes --------------------------------------------------------------------------
def blob_names(gw, fi) -> set:
    """Names of every blob: ("fs", path) for files under every filesystem zone, ("moto", bucket,
    key) for every object of the provider, listed directly on moto. A zone's `tmp/` holds writes in
    progress, renamed into place when complete (and gone at any moment): not blobs."""
    names = {("fs", str(p)) for p in (gw.tmp / "zones").rglob("*")
             if p.is_file() and p.parent.name != "tmp"}
    m = fi.client()
    for b in m.list_buckets()["Buckets"]:
        for page in m.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            names.update(("moto", b["Name"], o["Key"]) for o in page.get("Contents", []))
    return names


def blob_bytes(fi, name) -> bytes:
    if name[0] == "fs":
        with open(name[1], "rb") as f:
            return f.read()
    return fi.client().get_object(Bucket=name[1], Key=name[2])["Body"].read()


def new_blobs(gw, fi, before: set) -> dict:
    return {n: blob_bytes(fi, n) for n in blob_names(gw, fi) - before}


def holding_marker(blobs: dict) -> list:
    return [n for n, data in blobs.items() if MARKER in data]


def assert_ciphertext(blobs: dict, plain_size: int | None = None, zone: str | None = None):
    assert blobs, "nothing was stored"
    assert holding_marker(blobs) == [], "plaintext in a zone"
    for name, data in blobs.items():
        assert data[:4] == b"S3E\x01", f"{name} is not an encrypted stream"
        if plain_size is not None:
            assert len(data) == stored_size(plain_size), (name, len(data))
    if zone is not None:
        kind = "moto" if zone == "fi-hel-1" else "fs"
        assert {n[0] for n in blobs} == {kind}, f"stored outside {zone}: {list(blobs)}"


# -- reads ---------------------------------------------------------------------------------------
def ranges(n: int, seed: str, boundaries=()) -> list:
    """S3 Range values with the bytes they must answer: fixed ones around every 64 KiB segment
    boundary and the given (part) boundaries, the ends, a suffix and an open range, plus seeded
    random ones."""
    out = [(0, 0), (n - 1, n - 1)]
    for b in [*range(SEGMENT, n, SEGMENT), *boundaries]:
        out += [(b - 1, b), (b - 3, min(n - 1, b + 2)), (b, b), (max(0, b - SEGMENT - 5), min(n - 1, b + 7))]
    rnd = random.Random(seed)
    for _ in range(10):
        lo = rnd.randrange(n)
        out.append((lo, min(n - 1, lo + rnd.randrange(1, 3 * SEGMENT))))
    values = [(f"bytes={lo}-{hi}", lo, hi + 1) for lo, hi in out if 0 <= lo <= hi < n]
    values += [(f"bytes=-{SEGMENT + 9}", n - SEGMENT - 9, n), (f"bytes={n - SEGMENT - 1}-", n - SEGMENT - 1, n)]
    return values


def assert_reads_back(s3, bucket, key, data, mode, seed, boundaries=()):
    args = read_args(mode)
    got = s3.get_object(Bucket=bucket, Key=key, **args)
    assert got["Body"].read() == data, f"{key}: full read differs"
    for value, lo, hi in ranges(len(data), seed, boundaries):
        r = s3.get_object(Bucket=bucket, Key=key, Range=value, **args)
        assert r["Body"].read() == data[lo:hi], f"{key}: {value} differs"
    return got


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def upload_multipart(s3, bucket, key, data, extra):
    from boto3.s3.transfer import TransferConfig
    cfg = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    s3.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs=extra, Config=cfg)


def test_the_scan_finds_plaintext(gw, fi):
    """The scans below can fail: a plaintext object's marker is found in either zone."""
    s3 = s3_client(gw)
    for zone, country in ZONES.items():
        bucket = new_bucket_name("plain")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": country})
        before = blob_names(gw, fi)
        s3.put_object(Bucket=bucket, Key="p", Body=marked(5000, "plain"))
        found = new_blobs(gw, fi, before)
        assert holding_marker(found) == list(found) and len(found) == 1, found.keys()
        s3.delete_object(Bucket=bucket, Key="p")
        wait_until(lambda: holding_marker({n: blob_bytes(fi, n) for n in blob_names(gw, fi) & set(found)}) == [],
                   30, "the plaintext blob to be deleted", gw.log_tail, ignore=(OSError, ClientError))
        s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("zone", list(ZONES))
@pytest.mark.parametrize("mode", MODES)
def test_each_zone_holds_only_ciphertext_and_reads_back_identical(gw, fi, kms_key, zone, mode):
    s3 = s3_client(gw, "https")
    bucket = new_bucket_name(f"z{mode[-1]}")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": ZONES[zone]})
    extra, seed = write_args(mode, kms_key), f"{zone}-{mode}"

    # Two single PUTs of the same content: each ciphertext, in the stream format's size, different.
    data = marked(4 * SEGMENT + 1234, seed)
    stored = []
    for key in ("a", "b"):
        before = blob_names(gw, fi)
        put = s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        blobs = new_blobs(gw, fi, before)
        assert_ciphertext(blobs, len(data), zone)
        assert len(blobs) == 1
        stored += blobs.values()
    assert stored[0] != stored[1], "two uploads of the same content are stored alike"
    md5 = '"%s"' % hashlib.md5(data).hexdigest()
    assert (put["ETag"] == md5) == (mode == "sse-s3"), f"{mode} ETag {put['ETag']} (MD5 {md5})"
    assert_reads_back(s3, bucket, "a", data, mode, seed)

    # Multipart: three parts, ranges across the part boundaries too.
    big = marked(2 * PART + SEGMENT + 77, seed + "-big")
    before = blob_names(gw, fi)
    upload_multipart(s3, bucket, "big", big, extra)
    blobs = new_blobs(gw, fi, before)
    assert_ciphertext(blobs, None, zone)
    assert sum(len(b) for b in blobs.values()) == sum(stored_size(len(p)) for p in (big[:PART], big[PART:2 * PART],
                                                                                    big[2 * PART:]))
    head = s3.head_object(Bucket=bucket, Key="big", **read_args(mode))
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == len(big)
    assert_reads_back(s3, bucket, "big", big, mode, seed + "-big", boundaries=(PART, 2 * PART))

    # A copy (the same mode; an SSE-C source needs its key): stored as ciphertext again.
    source_key = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": CUSTOMER_KEY} \
        if mode == "sse-c" else {}
    before = blob_names(gw, fi)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a"}, **extra, **source_key)
    blobs = new_blobs(gw, fi, before)
    assert_ciphertext(blobs, len(data), zone)
    assert list(blobs.values())[0] not in stored
    assert_reads_back(s3, bucket, "copy", data, mode, seed + "-copy")

    if mode == "sse-c":
        assert error_of(lambda: s3.get_object(Bucket=bucket, Key="a")) == ("InvalidRequest", 400)
        wrong = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(32)}
        assert error_of(lambda: s3.get_object(Bucket=bucket, Key="big", Range="bytes=0-9", **wrong))[1] == 403
    # Everything either zone holds, read directly: no plaintext anywhere.
    assert holding_marker({n: blob_bytes(fi, n) for n in blob_names(gw, fi)}) == []


# -- key secrecy ---------------------------------------------------------------------------------
def unseal_keys(gw, masters=None):
    """The master keys (the key file's unless given), every KEK version and every DEK of the
    installation, unsealed the way KeyService does (docs/ENCRYPTION.md "Key hierarchy"):
    AES-256-GCM, nonce ‖ ciphertext ‖ tag."""
    if masters is None:
        masters = [bytes.fromhex(line) for line in (gw.state_dir / "master-key").read_text().split()]
    ring = {hashlib.sha256(k).hexdigest()[:8]: k for k in masters}
    db = sqlite3.connect(f"file:{gw.state_dir / 'metadata.sqlite'}?mode=ro", uri=True)
    try:
        keks = {}
        for key_id, versions in db.execute("SELECT id, versions FROM kms_keys"):
            for v in json.loads(versions):
                _, master_id, sealed = v["sealed"].split(":")
                raw = base64.b64decode(sealed)
                hex_kek = AESGCM(ring[master_id]).decrypt(raw[:12], raw[12:], f"kms:{key_id}:{v['v']}".encode())
                keks[(key_id, v["v"])] = bytes.fromhex(hex_kek.decode())
        envelopes = [json.loads(row[0]) for table in ("objects", "object_versions", "uploads")
                     for row in db.execute(f"SELECT sse FROM {table} WHERE sse <> ''")]
    finally:
        db.close()
    deks = {}
    for e in envelopes:
        if e["m"] == "SSE-C":
            continue
        raw = base64.b64decode(e["w"])
        aad = f"s3gw-dek-v1|{e['m']}|{e['k']}|{e['kv']}".encode()
        deks[e["w"]] = AESGCM(keks[(e["k"], e["kv"])]).decrypt(raw[:12], raw[12:], aad)
    return masters, keks, deks


def decrypt_single_segment(dek: bytes, blob: bytes) -> bytes:
    """Stream format v1 of a one-segment stream: header "S3E" 1 ‖ salt, then ciphertext ‖ tag under
    HMAC-SHA256(DEK, "s3gw-seg-v1" ‖ salt), nonce 0⁴ ‖ UInt64BE(0), AAD header ‖ UInt64BE(0) ‖ 1."""
    header = blob[:16]
    stream_key = hmac.new(dek, b"s3gw-seg-v1" + header[4:], hashlib.sha256).digest()
    index = (0).to_bytes(8, "big")
    return AESGCM(stream_key).decrypt(bytes(4) + index, blob[16:], header + index + b"\x01")


def test_no_master_key_kek_or_dek_in_any_file(gw, fi, kms_key):
    s3 = s3_client(gw, "https")
    bucket = new_bucket_name("secrets")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    small = marked(3000, "small")
    written = {}
    for mode in ("sse-s3", "sse-kms"):
        before = blob_names(gw, fi)
        s3.put_object(Bucket=bucket, Key=mode, Body=small, **write_args(mode, kms_key))
        (written[mode],) = new_blobs(gw, fi, before).values()
        upload_multipart(s3, bucket, f"{mode}-big", marked(PART + 10, mode), write_args(mode, kms_key))
        s3.get_object(Bucket=bucket, Key=mode)["Body"].read()
        s3.copy_object(Bucket=bucket, Key=f"{mode}-copy", CopySource={"Bucket": bucket, "Key": mode},
                       **write_args(mode, kms_key))
    s3.put_object(Bucket=bucket, Key="sse-c", Body=small, **SSE_C)
    assert s3.get_object(Bucket=bucket, Key="sse-c", **SSE_C)["Body"].read() == small
    # An upload left open keeps its DEK in the uploads table.
    s3.create_multipart_upload(Bucket=bucket, Key="open", ServerSideEncryption="AES256")

    masters, keks, deks = unseal_keys(gw)
    assert len(keks) >= 2 and len(deks) >= 7, (len(keks), len(deks))
    # The unsealed DEKs are the real ones: one of them decrypts what the zone holds.
    opened = [decrypt_single_segment(dek, blob) for dek in deks.values() for blob in written.values()
              if _opens(dek, blob)]
    assert opened == [small, small], "the unsealed data keys do not open the stored objects"

    assert_written_nowhere(gw, fi, masters, keks, deks, exclude=gw.state_dir / "master-key")


def assert_written_nowhere(gw, fi, masters, keks, deks, exclude=None):
    """Neither a master key, a KEK, a DEK nor the customer key (raw, hex, base64; the customer
    key's MD5 too) is in any file of the installation but `exclude`, or in any provider object."""
    needles = {}
    for name, secret in [*[(f"master {i}", k) for i, k in enumerate(masters)],
                         *[(f"KEK {k}", v) for k, v in keks.items()],
                         *[(f"DEK {w[:12]}", v) for w, v in deks.items()]]:
        needles[f"{name} raw"] = secret
        needles[f"{name} hex"] = secret.hex().encode()
        needles[f"{name} HEX"] = secret.hex().upper().encode()
        needles[f"{name} base64"] = base64.b64encode(secret)
    md5 = hashlib.md5(CUSTOMER_KEY).digest()
    needles.update({"customer key raw": CUSTOMER_KEY, "customer key hex": CUSTOMER_KEY.hex().encode(),
                    "customer key base64": base64.b64encode(CUSTOMER_KEY), "customer key MD5": base64.b64encode(md5),
                    "customer key MD5 hex": md5.hex().encode()})
    scanned = 0
    for path in gw.tmp.rglob("*"):
        if not path.is_file() or path.is_symlink() or path == exclude:
            continue
        try:
            data = path.read_bytes()
        except OSError:  # a temporary file gone since the listing
            continue
        scanned += 1
        for what, needle in needles.items():
            assert needle not in data, f"{path} holds {what}"
    moto_blobs = {n: blob_bytes(fi, n) for n in blob_names(gw, fi) if n[0] == "moto"}
    for name, data in moto_blobs.items():
        for what, needle in needles.items():
            assert needle not in data, f"{name} holds {what}"
    files = {p.name for p in gw.tmp.rglob("*") if p.is_file()}
    assert {"metadata.sqlite", "s3gw.log"} <= files and scanned > 10, files


def test_a_master_key_from_the_environment_is_in_no_file(fi):
    """S3GW_MASTER_KEY (a ring of two, the last current): no key file is made, and after SSE-S3,
    SSE-KMS (a key made, rotated) and SSE-C traffic no file holds a master key, KEK or DEK."""
    from test_admin_api import admin
    masters = [os.urandom(32), os.urandom(32)]
    stack = Stack("sse-envkey", workers=2)
    previous = os.environ.get("S3GW_MASTER_KEY")
    os.environ["S3GW_MASTER_KEY"] = ",".join(k.hex() for k in masters)
    try:
        stack.start()
    finally:
        if previous is None:
            os.environ.pop("S3GW_MASTER_KEY", None)
        else:
            os.environ["S3GW_MASTER_KEY"] = previous
    try:
        made = admin(stack, "POST", f"tenants/{TENANT}/kms-keys", {"alias": "env-key"})
        assert made.status_code == 201, made.text
        key = made.json()
        s3 = s3_client(stack, "https")
        s3.create_bucket(Bucket="envkey")
        data = marked(2 * SEGMENT + 9, "envkey")
        for mode in MODES:
            s3.put_object(Bucket="envkey", Key=mode, Body=data, **write_args(mode, key))
            upload_multipart(s3, "envkey", f"{mode}-big", marked(PART + 1, mode), write_args(mode, key))
        rotated = admin(stack, "POST", f"tenants/{TENANT}/kms-keys/{key['id']}/rotate")
        assert rotated.status_code == 200, rotated.text
        s3.put_object(Bucket="envkey", Key="after-rotation", Body=data, **write_args("sse-kms", key))
        for mode in MODES:
            assert s3.get_object(Bucket="envkey", Key=mode, **read_args(mode))["Body"].read() == data
        assert not (stack.state_dir / "master-key").exists()
        _, keks, deks = unseal_keys(stack, masters)
        assert len(keks) >= 3 and len(deks) >= 5, (len(keks), len(deks))
        assert_written_nowhere(stack, fi, masters, keks, deks)
    finally:
        stack.stop()
        stack.cleanup()


def _opens(dek, blob):
    try:
        decrypt_single_segment(dek, blob)
        return True
    except Exception:
        return False


# -- replicas ------------------------------------------------------------------------------------
def cli(gw, *args):
    return subprocess.run([str(s3gw_bin()), *args, "--config", str(gw.config)], capture_output=True, text=True,
                          timeout=120)


def replication_status(s3, bucket, key, mode):
    return s3.head_object(Bucket=bucket, Key=key, **read_args(mode))["ResponseMetadata"]["HTTPHeaders"].get(
        "x-amz-replication-status")


def test_replicas_are_ciphertext_repaired_and_serve_every_mode_alone(gw, fi, kms_key):
    """Last in this module: it stops the provider, whose contents do not survive a restart."""
    s3 = s3_client(gw, "https")
    bucket = new_bucket_name("repl")
    # Finland first: the primary copy in moto, the replica in the Swedish filesystem zone.
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi,se"})
    r = cli(gw, "buckets", "replicas", bucket, "2")
    assert r.returncode == 0, r.stdout + r.stderr
    before = blob_names(gw, fi)
    objects = {}
    for mode in MODES:
        extra = write_args(mode, kms_key)
        objects[(mode, "one")] = marked(3 * SEGMENT + 5, f"repl-{mode}")
        s3.put_object(Bucket=bucket, Key=f"{mode}-one", Body=objects[(mode, "one")], **extra)
        objects[(mode, "big")] = marked(PART + 2 * SEGMENT + 3, f"repl-{mode}-big")
        upload_multipart(s3, bucket, f"{mode}-big", objects[(mode, "big")], extra)
        source_key = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": CUSTOMER_KEY} \
            if mode == "sse-c" else {}
        s3.copy_object(Bucket=bucket, Key=f"{mode}-copy", CopySource={"Bucket": bucket, "Key": f"{mode}-one"},
                       **extra, **source_key)
        objects[(mode, "copy")] = objects[(mode, "one")]
    for mode, kind in objects:
        wait_until(lambda: replication_status(s3, bucket, f"{mode}-{kind}", mode) == "COMPLETED", 60,
                   f"{mode}-{kind} to be replicated", gw.log_tail)
    blobs = new_blobs(gw, fi, before)
    assert {n[0] for n in blobs} == {"fs", "moto"}, list(blobs)
    assert len([n for n in blobs if n[0] == "fs"]) == len(objects), "one replica blob per object"
    assert_ciphertext(blobs)

    # A lost replica is re-made from the primary's ciphertext (checked against the tag digest).
    fs_blobs = {n: b for n, b in blobs.items() if n[0] == "fs"}
    lost = next(iter(fs_blobs))
    os.unlink(lost[1])
    r = cli(gw, "repair", bucket)
    assert r.returncode == 0 and "1 copy queued" in r.stdout, r.stdout + r.stderr

    def replicas_back():
        now = {n: blob_bytes(fi, n) for n in blob_names(gw, fi) - before if n[0] == "fs"}
        # Compared by size: a copy being written is seen at its partial length first.
        return sorted(map(len, now.values())) == sorted(map(len, fs_blobs.values())) and now

    repaired = wait_until(replicas_back, 60, "the lost replica to be re-made", gw.log_tail, ignore=(OSError,))
    assert_ciphertext(repaired)
    assert lost not in repaired and blobs[lost] in repaired.values(), "the re-made replica is the primary's bytes"
    for mode, kind in objects:
        wait_until(lambda: replication_status(s3, bucket, f"{mode}-{kind}", mode) == "COMPLETED", 60,
                   f"{mode}-{kind} to be recorded as replicated", gw.log_tail)

    # The primary zone gone: every object, every mode, read from the Swedish replica alone.
    fi.stop()
    try:
        for (mode, kind), data in objects.items():
            got = assert_reads_back(s3, bucket, f"{mode}-{kind}", data, mode, f"replica-{mode}-{kind}",
                                    boundaries=(PART,) if kind == "big" else ())
            assert got["ResponseMetadata"]["HTTPHeaders"]["x-s3gw-zone"] == "local-1"
        assert error_of(lambda: s3.get_object(Bucket=bucket, Key="sse-c-one"))[1] == 400
    finally:
        fi.start()
