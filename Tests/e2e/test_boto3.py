"""boto3 against the gateway. Over HTTP botocore sends a hex payload hash; over HTTPS it sends
STREAMING-UNSIGNED-PAYLOAD-TRAILER (aws-chunked body, CRC32 in the trailer)."""

import base64
import hashlib
import io
import os
import subprocess
import time
import zlib

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import empty_and_delete_bucket, new_bucket_name, s3_client


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def status_of(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


class NonSeekable(io.RawIOBase):
    """A stream botocore cannot seek or measure (x-amz-decoded-content-length may be absent)."""

    def __init__(self, data: bytes):
        self._inner = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self._inner.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def capture_headers(client, operation: str) -> list[dict]:
    seen = []
    client.meta.events.register(f"before-send.s3.{operation}", lambda request, **_: seen.append(dict(request.headers)))
    return seen


def test_put_get_head_list_delete(gw, scheme, bucket):
    s3 = s3_client(gw, scheme)
    sent = capture_headers(s3, "PutObject")
    data = os.urandom(3 * 1024 * 1024 + 123)
    put = s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=data)
    md5 = hashlib.md5(data).hexdigest()
    assert put["ETag"] == f'"{md5}"'

    hdr = {k.lower(): v for k, v in sent[-1].items()}
    if scheme == "https":
        assert hdr["x-amz-content-sha256"] == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER", hdr
        assert b"aws-chunked" in hdr["content-encoding"], hdr
    else:
        assert hdr["x-amz-content-sha256"] == hashlib.sha256(data).hexdigest().encode(), hdr

    got = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5}"'
    assert got["ContentLength"] == len(data)

    head = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{md5}"'
    assert "LastModified" in head

    listing = s3.list_objects_v2(Bucket=bucket)
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listing["Contents"]] == [("dir/obj.bin", len(data), f'"{md5}"')]
    assert listing["KeyCount"] == 1

    s3.delete_object(Bucket=bucket, Key="dir/obj.bin")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert status_of(e.value) == 404
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert error_code(e.value) == "NoSuchKey"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_unseekable_stream_upload_over_https(gw, bucket):
    # Only over HTTPS: botocore needs a seekable body to hash it when it cannot use aws-chunked.
    s3 = s3_client(gw, "https")
    data = os.urandom(2 * 1024 * 1024 + 1)
    s3.put_object(Bucket=bucket, Key="stream", Body=NonSeekable(data))
    assert s3.get_object(Bucket=bucket, Key="stream")["Body"].read() == data


def test_metadata_content_type_and_checksum_round_trip(gw, scheme, bucket):
    s3 = s3_client(gw, scheme)
    data = b"metadata test body\n" * 100
    s3.put_object(
        Bucket=bucket, Key="meta.txt", Body=data, ContentType="text/x-test; charset=utf-8",
        Metadata={"Color": "Blue", "multi-word": "a b  c"}, ChecksumAlgorithm="CRC32",
    )
    head = s3.head_object(Bucket=bucket, Key="meta.txt")
    assert head["ContentType"] == "text/x-test; charset=utf-8"
    assert head["Metadata"] == {"color": "Blue", "multi-word": "a b  c"}

    got = s3.get_object(Bucket=bucket, Key="meta.txt", ChecksumMode="ENABLED")
    assert got.get("ChecksumCRC32") == crc32_b64(data), got["ResponseMetadata"]["HTTPHeaders"]
    assert got["Body"].read() == data


def test_range_and_conditional_requests(gw, scheme, bucket):
    s3 = s3_client(gw, scheme)
    data = bytes(range(256)) * 40
    etag = s3.put_object(Bucket=bucket, Key="r.bin", Body=data)["ETag"]

    part = s3.get_object(Bucket=bucket, Key="r.bin", Range="bytes=10-19")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["Body"].read() == data[10:20]
    tail = s3.get_object(Bucket=bucket, Key="r.bin", Range="bytes=-5")
    assert tail["Body"].read() == data[-5:]
    open_end = s3.get_object(Bucket=bucket, Key="r.bin", Range=f"bytes={len(data) - 3}-")
    assert open_end["Body"].read() == data[-3:]
    # A parallel downloader's ranged GET with If-Match on the current ETag.
    assert s3.get_object(Bucket=bucket, Key="r.bin", Range="bytes=0-0", IfMatch=etag)["Body"].read() == data[:1]

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r.bin", IfNoneMatch=etag)
    assert status_of(e.value) == 304
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="r.bin", IfNoneMatch=etag)
    assert status_of(e.value) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r.bin", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert status_of(e.value) == 412 and error_code(e.value) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r.bin", Range=f"bytes={len(data) + 10}-")
    assert status_of(e.value) == 416 and error_code(e.value) == "InvalidRange"


def test_list_prefix_delimiter_and_pagination(gw, scheme, bucket):
    s3 = s3_client(gw, scheme)
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "d", "e"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())

    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in top["Contents"]] == ["c", "d", "e"]

    sub = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]

    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert first["IsTruncated"] is True and first["KeyCount"] == 2
    assert [o["Key"] for o in first["Contents"]] == ["a/1", "a/2"]
    second = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in second["Contents"]] == ["a/b/3", "b/4"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/4")
    assert [o["Key"] for o in after["Contents"]] == ["c", "d", "e"] and after["IsTruncated"] is False

    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert len(pages) == 3
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == keys

    v1 = s3.list_objects(Bucket=bucket, MaxKeys=3)
    assert [o["Key"] for o in v1["Contents"]] == keys[:3] and v1["IsTruncated"] is True
    v1b = s3.list_objects(Bucket=bucket, Marker=v1["Contents"][-1]["Key"])
    assert [o["Key"] for o in v1b["Contents"]] == keys[3:]


AWKWARD_KEYS = [
    "a//b/../c.txt",
    "a/c.txt",
    "../x",
    "./y",
    "sp ace+plus%percent~",
    "sp ace plus%percent~",
    "trailing/",
    "ünïcödé/日本語.txt",
    "q?uestion#hash&amp=eq;semi",
    "ä" * 512,  # 1024 bytes of UTF-8: the longest key S3 allows
]


def test_awkward_keys_round_trip_distinct(gw, scheme, bucket):
    s3 = s3_client(gw, scheme)
    for i, key in enumerate(AWKWARD_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=f"{i}:{key}".encode())
    for i, key in enumerate(AWKWARD_KEYS):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"{i}:{key}".encode(), key
    # The paginator asks for encoding-type=url and decodes the keys again.
    listed = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in p["Contents"]]
    assert sorted(listed) == sorted(AWKWARD_KEYS)
    raw = s3.list_objects(Bucket=bucket)  # V1 without encoding-type, as s3cmd and rclone list
    assert sorted(o["Key"] for o in raw["Contents"]) == sorted(AWKWARD_KEYS)

    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="ä" * 512 + "x", Body=b"too long")
    assert error_code(e.value) == "KeyTooLongError"


def test_create_bucket_twice_is_already_owned_by_you(gw, scheme):
    s3 = s3_client(gw, scheme)
    name = new_bucket_name("twice")
    try:
        s3.create_bucket(Bucket=name)
        # rclone re-creates before every upload and takes this answer as success.
        with pytest.raises(ClientError) as again:
            s3.create_bucket(Bucket=name)
        assert status_of(again.value) == 409
        assert error_code(again.value) == "BucketAlreadyOwnedByYou"
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        s3.head_bucket(Bucket=name)
    finally:
        empty_and_delete_bucket(s3, name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert status_of(e.value) == 404


def test_delete_non_empty_bucket_fails(gw, bucket):
    s3 = s3_client(gw)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(e.value) == "BucketNotEmpty" and status_of(e.value) == 409
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x"


def test_missing_bucket_and_invalid_name(gw):
    s3 = s3_client(gw)
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=new_bucket_name("absent"))
    assert error_code(e.value) == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=new_bucket_name("absent"), Key="k", Body=b"x")
    assert error_code(e.value) == "NoSuchBucket"


def test_bucket_location(gw):
    s3 = s3_client(gw)
    default = new_bucket_name("loc")
    placed = new_bucket_name("loc-se")
    try:
        s3.create_bucket(Bucket=default)
        loc = s3.get_bucket_location(Bucket=default)["LocationConstraint"]
        assert loc in (None, "", "local-1", "se", "se-sto"), loc
        s3.create_bucket(Bucket=placed, CreateBucketConfiguration={"LocationConstraint": "se"})
        assert s3.get_bucket_location(Bucket=placed)["LocationConstraint"] == "se"
    finally:
        empty_and_delete_bucket(s3, default)
        empty_and_delete_bucket(s3, placed)


def test_presigned_get_sigv2_and_sigv4(gw, scheme, bucket):
    data = os.urandom(100_000)
    s3_client(gw, scheme).put_object(Bucket=bucket, Key="pre sign/d+ata.bin", Body=data)

    v2 = s3_client(gw, scheme, signature_version=None)  # boto3's default for presigning is SigV2
    url2 = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre sign/d+ata.bin"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url2 and "Signature=" in url2, url2
    r = requests.get(url2, verify=gw.verify(scheme) or True)
    assert r.status_code == 200, r.text
    assert r.content == data

    v4 = s3_client(gw, scheme)
    url4 = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre sign/d+ata.bin"}, ExpiresIn=300)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url4, url4
    cmd = ["curl", "-sS", "--fail", "-o", "-", url4]
    if scheme == "https":
        cmd[1:1] = ["--cacert", gw.ca_file]
    assert subprocess.run(cmd, capture_output=True, check=True).stdout == data

    # A presigned URL authorizes exactly one object.
    other = url4.replace("d%2Bata.bin", "other.bin")
    assert other != url4
    r = requests.get(other, verify=gw.verify(scheme) or True)
    assert r.status_code == 403, r.text


def test_presigned_put_sigv4(gw, bucket):
    s3 = s3_client(gw)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=300)
    r = requests.put(url, data=b"via presigned put")
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via presigned put"


@pytest.mark.parametrize("signature_version", [None, "s3v4"], ids=["sigv2", "sigv4"])
def test_expired_presigned_url_is_denied(gw, bucket, signature_version):
    s3_client(gw).put_object(Bucket=bucket, Key="soon-gone", Body=b"x")
    client = s3_client(gw, signature_version=signature_version)
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "soon-gone"}, ExpiresIn=1)
    time.sleep(2.5)  # lets the URL's one-second lifetime pass: crossing a clock boundary, not awaiting an event
    r = requests.get(url)
    assert r.status_code == 403, r.text
    assert "<Code>AccessDenied</Code>" in r.text, r.text
