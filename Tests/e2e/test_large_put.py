"""Large PUTs through the pipelined path (read and hash on the request thread, the zone written by
a helper): a 210 MiB body with a wrong Content-MD5 is refused BadDigest with nothing stored, and a
client that disconnects mid-upload leaves no object, no blob and no temp file. Bodies uploaded at the
same time share MD5 vector lanes (`md5_lanes`): each keeps its own ETag and Content-MD5 check."""

import base64
import hashlib
import os
import socket
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import new_bucket_name, s3_client, wait_until

MIB = 1024 * 1024
SIZE = 210 * MIB


def zone_files(gw) -> set:
    return {p for p in gw.zone_dir.rglob("*") if p.is_file()}


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    block = bytearray(b"\x5a" * MIB)
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        for i in range(SIZE // MIB):
            block[:8] = i.to_bytes(8, "big")
            f.write(block)
            md5.update(block)
    return path, md5.digest()


def test_a_large_put_with_a_wrong_content_md5_stores_nothing(gw, big_file):
    path, md5 = big_file
    s3 = s3_client(gw)
    bucket = new_bucket_name("bigmd5")
    s3.create_bucket(Bucket=bucket)
    before = zone_files(gw)
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with open(path, "rb") as body, pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big", Body=body, ContentMD5=wrong)
    assert e.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="big")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert zone_files(gw) == before, "no blob and no temp file left"
    # The right digest stores it, whole.
    with open(path, "rb") as body:
        put = s3.put_object(Bucket=bucket, Key="big", Body=body, ContentMD5=base64.b64encode(md5).decode())
    assert put["ETag"] == f'"{md5.hex()}"'
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == SIZE


def test_a_client_gone_mid_upload_leaves_nothing(gw):
    s3 = s3_client(gw)
    bucket = new_bucket_name("biggone")
    s3.create_bucket(Bucket=bucket)
    before = zone_files(gw)
    url = urllib.parse.urlsplit(
        s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "cut"}, ExpiresIn=600))
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                     f"Content-Length: {SIZE}\r\n\r\n".encode())
        chunk = b"\x17" * MIB
        for _ in range(50):
            conn.sendall(chunk)
        # The body is on its way into a temp file when the client leaves.
        wait_until(lambda: any(p.is_file() for p in (gw.zone_dir / "tmp").iterdir()), 30,
                   "the upload's temp file", detail=gw.log_tail)
    # The worker sees the connection end, aborts the write, and answers no one.

    def clean():
        left = zone_files(gw) - before
        if left:
            return False
        try:
            s3.head_object(Bucket=bucket, Key="cut")
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False

    wait_until(clean, 30, "no object, blob or temp file after the client left",
               detail=lambda: f"left: {sorted(map(str, zone_files(gw) - before))}\n{gw.log_tail()}")
    assert not s3.list_objects_v2(Bucket=bucket).get("Contents")


def test_concurrent_bodies_keep_their_own_etags_and_digest_checks(gw):
    """Twelve PUTs at once, sizes from 64 KiB to 3 MiB and none a multiple of 64 bytes: every
    ETag is its own body's MD5 and reads back byte for byte, and the one body sent with another
    body's Content-MD5 is refused BadDigest and stored nowhere. Whether the bodies met in the
    lanes depends on timing and on which worker took each (LaneMD5Tests proves the lanes are
    used); this proves that whatever way each body was hashed, none was mixed up."""
    s3 = s3_client(gw)
    bucket = new_bucket_name("lanes")
    s3.create_bucket(Bucket=bucket)
    bodies = [os.urandom(64 * 1024 + 1 + i * 262_139) for i in range(12)]

    def put(i):
        body = bodies[i]
        # Body 5 claims body 4's digest: the lanes must not mix streams up.
        claimed = hashlib.md5(bodies[4] if i == 5 else body).digest()
        try:
            r = s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body,
                              ContentMD5=base64.b64encode(claimed).decode())
            return r["ETag"]
        except ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(put, range(12)))
    for i, body in enumerate(bodies):
        if i == 5:
            assert results[i] == "BadDigest"
            with pytest.raises(ClientError) as missing:
                s3.head_object(Bucket=bucket, Key="k5")
            assert missing.value.response["Error"]["Code"] == "404"
            continue
        assert results[i] == f'"{hashlib.md5(body).hexdigest()}"', i
        assert s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == body
