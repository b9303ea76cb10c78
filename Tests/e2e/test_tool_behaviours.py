"""S3 behaviours that real tools rely on beyond plain PUT/GET: listing versions to empty a bucket,
retried multipart completion, part-number reads, 304 headers, full-object multipart checksums,
byte-exact metadata and the last-finished part winning. Real clients (boto3, aws CLI) where they
exercise the behaviour, hand-signed requests where only the wire shows it."""

import json

import boto3
from botocore.config import Config

from conftest import REGION, client_env, new_bucket_name, run, s3_client

NESTED_KEYS = ["top.txt", "a/b/c.txt", "a/b/d.txt", "a/e.txt", "deep/x/y/z/leaf", "sp ace/and+plus.txt", "ü/ñ.txt"]


def fill(client, bucket: str, keys=NESTED_KEYS) -> None:
    for k in keys:
        client.put_object(Bucket=bucket, Key=k, Body=k.encode())


def keys_left(client, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


# -- ListObjectVersions ----------------------------------------------------------------------------


def test_boto3_object_versions_delete_empties_a_nested_bucket(gw):
    client = s3_client(gw)
    bucket = new_bucket_name("ver")
    client.create_bucket(Bucket=bucket)
    fill(client, bucket)

    pages = list(
        client.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 4, pages
    versions = [v for p in pages for v in p.get("Versions", [])]
    assert sorted(v["Key"] for v in versions) == sorted(NESTED_KEYS)
    assert {v["VersionId"] for v in versions} == {"null"}
    assert all(v["IsLatest"] and v["StorageClass"] == "STANDARD" for v in versions)
    # The owner is the user behind the key (the root user): its canonical id and name.
    me = client.list_buckets()["Owner"]
    assert me["DisplayName"] == "root" and len(me["ID"]) == 64
    assert all(v["Size"] == len(v["Key"].encode()) and v["Owner"] == me for v in versions)
    top = client.list_object_versions(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in top["CommonPrefixes"]) == ["a/", "deep/", "sp ace/", "ü/"]
    assert [v["Key"] for v in top["Versions"]] == ["top.txt"]

    resource = boto3.resource(
        "s3", endpoint_url=gw.url("http"), aws_access_key_id=gw.access_key,
        aws_secret_access_key=gw.secret_key, region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    resource.Bucket(bucket).object_versions.delete()
    assert keys_left(client, bucket) == []
    client.delete_bucket(Bucket=bucket)


def test_aws_cli_list_object_versions_drives_emptying_a_bucket(gw, tmp_path):
    env = client_env(gw, "http", tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    api = ["aws", "--endpoint-url", gw.url("http"), "s3api"]
    client = s3_client(gw)
    bucket = new_bucket_name("vercli")
    client.create_bucket(Bucket=bucket)
    fill(client, bucket)

    listed = json.loads(
        run(api + ["list-object-versions", "--bucket", bucket, "--page-size", "3"], env=env, stack=gw).stdout
    )
    assert sorted(v["Key"] for v in listed["Versions"]) == sorted(NESTED_KEYS)
    assert {v["VersionId"] for v in listed["Versions"]} == {"null"}
    delete = {"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed["Versions"]]}
    (tmp_path / "delete.json").write_text(json.dumps(delete))
    out = json.loads(
        run(api + ["delete-objects", "--bucket", bucket, "--delete", f"file://{tmp_path / 'delete.json'}"],
            env=env, stack=gw).stdout
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted(NESTED_KEYS) and "Errors" not in out, out
    assert keys_left(client, bucket) == []
    run(api + ["delete-bucket", "--bucket", bucket], env=env, stack=gw)


# -- CompleteMultipartUpload retried -------------------------------------------------------------------


def multipart(client, bucket: str, key: str, parts: list[bytes], **create) -> tuple[str, list[dict]]:
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for n, body in enumerate(parts, 1):
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=body)["ETag"]
        done.append({"PartNumber": n, "ETag": etag})
    return upload_id, done


def test_boto3_retried_complete_gets_the_same_answer(gw, bucket):
    client = s3_client(gw)
    parts = [b"a" * (5 << 20), b"tail"]
    upload_id, done = multipart(client, bucket, "retried", parts)
    first = client.complete_multipart_upload(
        Bucket=bucket, Key="retried", UploadId=upload_id, MultipartUpload={"Parts": done})
    again = client.complete_multipart_upload(
        Bucket=bucket, Key="retried", UploadId=upload_id, MultipartUpload={"Parts": done})
    for field in ("ETag", "Bucket", "Key", "Location"):
        assert again[field] == first[field], (field, first, again)
    assert client.get_object(Bucket=bucket, Key="retried")["Body"].read() == b"".join(parts)

    client.put_object(Bucket=bucket, Key="retried", Body=b"newer")
    try:
        client.complete_multipart_upload(
            Bucket=bucket, Key="retried", UploadId=upload_id, MultipartUpload={"Parts": done})
        raise AssertionError("a Complete of an upload whose object was overwritten succeeded")
    except client.exceptions.NoSuchUpload:
        pass
    assert client.get_object(Bucket=bucket, Key="retried")["Body"].read() == b"newer"


# -- GET/HEAD ?partNumber ----------------------------------------------------------------------------


def test_boto3_reads_one_part_by_number(gw, bucket):
    client = s3_client(gw)
    parts = [b"1" * (5 << 20), b"2" * (5 << 20), b"333"]
    upload_id, done = multipart(client, bucket, "parts", parts)
    etag = client.complete_multipart_upload(
        Bucket=bucket, Key="parts", UploadId=upload_id, MultipartUpload={"Parts": done})["ETag"]
    total = sum(map(len, parts))

    second = client.get_object(Bucket=bucket, Key="parts", PartNumber=2)
    assert second["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert second["Body"].read() == parts[1]
    assert second["ContentRange"] == f"bytes {5 << 20}-{(10 << 20) - 1}/{total}"
    assert second["PartsCount"] == 3 and second["ETag"] == etag
    head = client.head_object(Bucket=bucket, Key="parts", PartNumber=1)
    assert head["ContentLength"] == 5 << 20 and head["PartsCount"] == 3 and head["ETag"] == etag
    assert client.get_object(Bucket=bucket, Key="parts", PartNumber=3)["Body"].read() == b"333"
    try:
        client.get_object(Bucket=bucket, Key="parts", PartNumber=4)
        raise AssertionError("a part past the last was served")
    except client.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 416
        assert e.response["Error"]["Code"] == "InvalidPartNumber"

    client.put_object(Bucket=bucket, Key="single", Body=b"one piece")
    whole = client.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert whole["Body"].read() == b"one piece" and whole["ContentRange"] == "bytes 0-8/9"
    assert "PartsCount" not in whole


# -- 304 Not Modified ----------------------------------------------------------------------------------


def test_not_modified_carries_etag_last_modified_and_cache_headers(gw, bucket):
    import requests

    from sigv4 import sign

    client = s3_client(gw)
    etag = client.put_object(
        Bucket=bucket, Key="cached", Body=b"cached body", CacheControl="max-age=60",
        Expires="Thu, 01 Dec 2033 16:00:00 GMT")["ETag"]
    last_modified = client.head_object(Bucket=bucket, Key="cached")["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    for method in ("get_object", "head_object"):
        try:
            getattr(client, method)(Bucket=bucket, Key="cached", IfNoneMatch=etag)
            raise AssertionError(f"{method} with a matching If-None-Match was not 304")
        except client.exceptions.ClientError as e:
            headers = e.response["ResponseMetadata"]["HTTPHeaders"]
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 304, e.response
            assert headers["etag"] == etag and headers["last-modified"] == last_modified, headers
            assert headers["cache-control"] == "max-age=60", headers
            assert headers["expires"] == "Thu, 01 Dec 2033 16:00:00 GMT", headers
            assert "date" in headers, headers

    # On the wire: no body, and no Content-Length claiming a 0-byte representation.
    url = f"{gw.url('http')}/{bucket}/cached"
    signed = sign("GET", url, gw.access_key, gw.secret_key, headers={"If-Modified-Since": last_modified})
    r = requests.get(url, headers=signed.headers)
    assert r.status_code == 304 and r.content == b"", (r.status_code, r.headers, r.content)
    assert r.headers["ETag"] == etag and r.headers.get("Content-Length") in (None, str(len(b"cached body"))), r.headers


# -- Multipart checksums: FULL_OBJECT ------------------------------------------------------------------


def b64_crc32(data: bytes) -> str:
    import base64
    import zlib

    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_boto3_full_object_crc32_multipart(gw, bucket):
    client = s3_client(gw)
    parts = [bytes(range(256)) * (5 << 12), b"the last part"]
    whole = b"".join(parts)
    upload_id = client.create_multipart_upload(
        Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")["UploadId"]
    done = []
    for n, body in enumerate(parts, 1):
        r = client.upload_part(
            Bucket=bucket, Key="full", UploadId=upload_id, PartNumber=n, Body=body, ChecksumAlgorithm="CRC32")
        assert r["ChecksumCRC32"] == b64_crc32(body)
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})

    try:
        client.complete_multipart_upload(
            Bucket=bucket, Key="full", UploadId=upload_id, MultipartUpload={"Parts": done},
            ChecksumType="FULL_OBJECT", ChecksumCRC32=b64_crc32(whole + b"x"))
        raise AssertionError("a Complete with the wrong whole-object CRC32 succeeded")
    except client.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "BadDigest", e.response
    assert [u["UploadId"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [upload_id]

    completed = client.complete_multipart_upload(
        Bucket=bucket, Key="full", UploadId=upload_id, MultipartUpload={"Parts": done},
        ChecksumType="FULL_OBJECT", ChecksumCRC32=b64_crc32(whole))
    assert completed["ChecksumCRC32"] == b64_crc32(whole) and completed["ChecksumType"] == "FULL_OBJECT"
    head = client.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == b64_crc32(whole) and head["ChecksumType"] == "FULL_OBJECT", head
    # botocore checks a full-object CRC32 it gets back against the bytes it reads.
    got = client.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert got["Body"].read() == whole and got["ChecksumType"] == "FULL_OBJECT"


def test_boto3_upload_file_with_a_whole_file_crc32_goes_full_object(gw, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig

    client = s3_client(gw)
    data = bytes(range(256)) * (44 << 10)  # 11 MiB: three parts of 5 MiB
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    client.upload_file(
        str(path), bucket, "file.bin", ExtraArgs={"ChecksumCRC32": b64_crc32(data)},
        Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    head = client.head_object(Bucket=bucket, Key="file.bin", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"'), head
    assert head["ChecksumCRC32"] == b64_crc32(data) and head["ChecksumType"] == "FULL_OBJECT", head

    # The default multipart checksum of this boto3 stays COMPOSITE CRC32.
    client.upload_file(
        str(path), bucket, "default.bin", Config=TransferConfig(multipart_threshold=5 << 20,
                                                               multipart_chunksize=5 << 20))
    head = client.head_object(Bucket=bucket, Key="default.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"].endswith("-3") and head["ChecksumType"] == "COMPOSITE", head


# -- Header bytes and V1 listing encoding ------------------------------------------------------------


def raw_request(gw, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[bytes, bytes]:
    """Sends one request on a plain socket (header values may be bytes) and returns the raw
    response head and body, so no HTTP library decodes or re-encodes a header byte."""
    import socket

    from sigv4 import sha256_hex, sign

    url = f"{gw.url('http')}{path}"
    signed = sign(method, url, gw.access_key, gw.secret_key, headers=headers, payload_hash=sha256_hex(body))
    lines = [f"{method} {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{gw.http_port}".encode()]
    for k, v in signed.headers.items():
        lines.append(k.encode() + b": " + (v if isinstance(v, bytes) else str(v).encode()))
    lines += [f"Content-Length: {len(body)}".encode(), b"Connection: close"]
    with socket.create_connection(("127.0.0.1", gw.http_port), timeout=30) as s:
        s.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_metadata_bytes_round_trip_unchanged(gw, bucket):
    latin1, utf8 = b"caf\xe9", "café €".encode()
    head, _ = raw_request(
        gw, "PUT", f"/{bucket}/bytes",
        {"x-amz-meta-latin": latin1, "x-amz-meta-utf8": utf8, "Content-Disposition": b"attachment; filename=\xe9.txt"},
        body=b"payload")
    assert head.startswith(b"HTTP/1.1 200"), head
    for method in ("GET", "HEAD"):
        head, _ = raw_request(gw, method, f"/{bucket}/bytes", {})
        assert head.startswith(b"HTTP/1.1 200"), head
        fields = {name.lower(): value for name, _, value in (line.partition(b": ") for line in head.split(b"\r\n"))}
        assert fields[b"x-amz-meta-latin"] == latin1, head
        assert fields[b"x-amz-meta-utf8"] == utf8, head
        assert fields[b"content-disposition"] == b"attachment; filename=\xe9.txt", head


def test_list_objects_v1_encodes_only_when_asked(gw, bucket):
    import requests

    from sigv4 import sign

    client = s3_client(gw)
    client.put_object(Bucket=bucket, Key="a b+c/é.txt", Body=b"1")
    query = "delimiter=%2F&marker=a%20b%2Bc%2F&prefix=a%20b%2Bc%2F"
    for extra, prefix, key in (("", "a b+c/", "a b+c/é.txt"), ("&encoding-type=url", "a%20b%2Bc/", "a%20b%2Bc/%C3%A9.txt")):
        url = f"{gw.url('http')}/{bucket}?{query}{extra}"
        r = requests.get(url, headers=sign("GET", url, gw.access_key, gw.secret_key).headers)
        assert r.status_code == 200, r.text
        text = r.content.decode()
        assert f"<Prefix>{prefix}</Prefix>" in text and f"<Marker>{prefix}</Marker>" in text, text
        assert f"<Key>{key}</Key>" in text and "<Delimiter>/</Delimiter>" in text, text


# -- A part uploaded twice: the upload that finished last wins ------------------------------------------


class PartUpload:
    """One UploadPart on its own socket, sent in two halves so two uploads of the same part
    number can overlap in a chosen order."""

    def __init__(self, gw, bucket: str, key: str, upload_id: str, body: bytes):
        import socket

        from sigv4 import UNSIGNED, sign

        path = f"/{bucket}/{key}?partNumber=1&uploadId={upload_id}"
        signed = sign("PUT", f"{gw.url('http')}{path}", gw.access_key, gw.secret_key, payload_hash=UNSIGNED)
        head = [f"PUT {path} HTTP/1.1", f"Host: 127.0.0.1:{gw.http_port}", f"Content-Length: {len(body)}",
                "Connection: close"] + [f"{k}: {v}" for k, v in signed.headers.items()]
        self.body = body
        self.sock = socket.create_connection(("127.0.0.1", gw.http_port), timeout=60)
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[: len(body) // 2])

    def finish(self) -> str:
        self.sock.sendall(self.body[len(self.body) // 2:])
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        self.sock.close()
        head = data.partition(b"\r\n\r\n")[0].decode()
        assert head.startswith("HTTP/1.1 200"), data
        return next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("etag:"))


def test_part_uploaded_twice_keeps_the_upload_that_finished_last(gw, bucket):
    client = s3_client(gw)
    upload_id = client.create_multipart_upload(Bucket=bucket, Key="raced")["UploadId"]
    a_bytes, b_bytes = b"A" * (1 << 20) + b"first started", b"B" * (1 << 20) + b"second started"
    a = PartUpload(gw, bucket, "raced", upload_id, a_bytes)
    b = PartUpload(gw, bucket, "raced", upload_id, b_bytes)
    b_etag = b.finish()
    a_etag = a.finish()
    assert a_etag != b_etag

    listed = client.list_parts(Bucket=bucket, Key="raced", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [(1, a_etag, len(a_bytes))]
    try:
        client.complete_multipart_upload(
            Bucket=bucket, Key="raced", UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": b_etag}]})
        raise AssertionError("Complete naming the replaced part's ETag succeeded")
    except client.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidPart", e.response
    client.complete_multipart_upload(
        Bucket=bucket, Key="raced", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": a_etag}]})
    assert client.get_object(Bucket=bucket, Key="raced")["Body"].read() == a_bytes
