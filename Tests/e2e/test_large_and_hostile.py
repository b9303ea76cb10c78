"""Big objects through real clients (one 1 GiB round trip with the aws CLI, ~100 MiB with boto3 at
concurrency 8) and hostile multipart / copy input sent by hand: each refusal is the S3 error a
client expects, the upload survives it, and nothing is left behind in the listing or the zone."""

import filecmp
import hashlib
import os

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from conftest import assert_s3_error, client_env, new_bucket_name, run, s3_client

MIB = 1024 * 1024


def blob_files(gw) -> set:
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def write_big_file(path, size: int, part_size: int) -> str:
    """Writes `size` bytes quickly (a 4 MiB random block, each copy stamped with its index so no two
    blocks are equal) and returns S3's multipart ETag for `part_size` parts."""
    block = bytearray(os.urandom(4 * MIB))
    assert size % len(block) == 0 and part_size % len(block) == 0
    part_md5s, part = [], hashlib.md5()
    with open(path, "wb") as f:
        for i in range(size // len(block)):
            block[:8] = i.to_bytes(8, "big")
            f.write(block)
            part.update(block)
            if (i + 1) * len(block) % part_size == 0 or (i + 1) * len(block) == size:
                part_md5s.append(part.digest())
                part = hashlib.md5()
    assert path.stat().st_size == size
    return f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'


def test_aws_cli_one_gib_multipart_round_trip(gw, tmp_path):
    env = client_env(gw, "http", tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    aws = ["aws", "--endpoint-url", gw.url("http"), "s3"]
    bucket = new_bucket_name("onegib")
    src, back = tmp_path / "one-gib.bin", tmp_path / "one-gib.back"
    etag = write_big_file(src, 1024 * MIB, 8 * MIB)  # the CLI's default part size: 128 parts
    s3 = s3_client(gw)
    try:
        run(aws + ["mb", f"s3://{bucket}"], env=env, stack=gw)
        before = blob_files(gw)
        run(aws + ["cp", str(src), f"s3://{bucket}/big/one gib.bin"], env=env, stack=gw, timeout=600)
        head = s3.head_object(Bucket=bucket, Key="big/one gib.bin")
        assert head["ContentLength"] == 1024 * MIB
        assert head["ETag"] == etag
        run(aws + ["cp", f"s3://{bucket}/big/one gib.bin", str(back)], env=env, stack=gw, timeout=600)
        assert filecmp.cmp(src, back, shallow=False)
        listing = run(aws + ["ls", "--recursive", f"s3://{bucket}"], env=env, stack=gw).stdout
        assert [line.split(None, 3)[2:] for line in listing.splitlines()] == [[str(1024 * MIB), "big/one gib.bin"]]
        assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
        run(aws + ["rb", "--force", f"s3://{bucket}"], env=env, stack=gw)
        assert blob_files(gw) == before, "the deleted 1 GiB object left blob files behind"
    finally:
        for p in (src, back):  # 2 GiB: do not leave them to pytest's kept temp directories
            p.unlink(missing_ok=True)
        try:
            s3.delete_object(Bucket=bucket, Key="big/one gib.bin")
            s3.delete_bucket(Bucket=bucket)
        except ClientError:
            pass


def test_boto3_hundred_mib_multipart_at_concurrency_8(gw, tmp_path):
    from boto3.s3.transfer import TransferConfig

    # HTTPS: every part goes up as an aws-chunked body with a CRC32 trailer.
    s3 = s3_client(gw, "https", max_pool_connections=8)
    bucket = new_bucket_name("hundred")
    src, back = tmp_path / "hundred.bin", tmp_path / "hundred.back"
    etag = write_big_file(src, 100 * MIB, 8 * MIB)
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=8)
    s3.create_bucket(Bucket=bucket)
    try:
        s3.upload_file(str(src), bucket, "hundred.bin", Config=cfg)
        assert s3.head_object(Bucket=bucket, Key="hundred.bin")["ETag"] == etag
        s3.download_file(bucket, "hundred.bin", str(back), Config=cfg)
        assert filecmp.cmp(src, back, shallow=False)
        assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    finally:
        for p in (src, back):
            p.unlink(missing_ok=True)
        s3.delete_object(Bucket=bucket, Key="hundred.bin")
        s3.delete_bucket(Bucket=bucket)


# -- hostile multipart and copy input, hand-signed ------------------------------------------------
def send(gw, method, path, body=b"", headers=None):
    url = gw.http_url + path
    s = sigv4.sign(method, url, gw.access_key, gw.secret_key, headers or {}, payload_hash=sigv4.sha256_hex(body))
    return requests.request(method, url, data=body, headers=s.headers, timeout=120)


def complete_body(parts, padding: str = "") -> bytes:
    xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in parts)
    return f"<CompleteMultipartUpload>{xml}{padding}</CompleteMultipartUpload>".encode()


def keys_of(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def upload(gw, bucket):
    """A multipart upload with two real parts (5 MiB and 1 KiB) and the zone's blobs before it."""
    s3 = s3_client(gw)
    baseline = blob_files(gw)
    data = [os.urandom(5 * MIB), os.urandom(1024)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="target")["UploadId"]
    parts = [(n, s3.upload_part(Bucket=bucket, Key="target", UploadId=up, PartNumber=n, Body=d)["ETag"])
             for n, d in enumerate(data, 1)]
    yield {"s3": s3, "bucket": bucket, "id": up, "parts": parts, "data": b"".join(data), "baseline": baseline,
           "with_parts": blob_files(gw)}
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key="target", UploadId=up)
    except ClientError:
        pass


def assert_refused_then_completes(gw, u, response, status, code):
    """The hostile Complete was refused, stored nothing, and the upload still completes normally;
    deleting the object leaves the zone as it was before the upload."""
    s3, bucket = u["s3"], u["bucket"]
    assert_s3_error(response, status, code)
    assert blob_files(gw) == u["with_parts"]
    assert keys_of(s3, bucket) == []
    listed = s3.list_parts(Bucket=bucket, Key="target", UploadId=u["id"])["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == u["parts"]

    s3.complete_multipart_upload(Bucket=bucket, Key="target", UploadId=u["id"], MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in u["parts"]]})
    assert s3.get_object(Bucket=bucket, Key="target")["Body"].read() == u["data"]
    s3.delete_object(Bucket=bucket, Key="target")
    assert keys_of(s3, bucket) == []
    assert blob_files(gw) == u["baseline"], "blobs left behind after the object was deleted"


def test_complete_with_3000_parts_never_uploaded(gw, upload):
    fake = [(n, f'"{hashlib.md5(str(n).encode()).hexdigest()}"') for n in range(1, 3001)]
    r = send(gw, "POST", f"/{upload['bucket']}/target?uploadId={upload['id']}", complete_body(fake))
    assert_refused_then_completes(gw, upload, r, 400, "InvalidPart")


def test_complete_body_over_4_mib(gw, upload):
    body = complete_body(upload["parts"], padding=" " * (4 * MIB + 1))
    assert len(body) > 4 * MIB
    r = send(gw, "POST", f"/{upload['bucket']}/target?uploadId={upload['id']}", body)
    assert_refused_then_completes(gw, upload, r, 400, "MalformedXML")


def test_complete_with_duplicate_part_numbers(gw, upload):
    p1, p2 = upload["parts"]
    r = send(gw, "POST", f"/{upload['bucket']}/target?uploadId={upload['id']}", complete_body([p1, p1, p2]))
    assert_refused_then_completes(gw, upload, r, 400, "InvalidPartOrder")


def test_complete_with_descending_part_numbers(gw, upload):
    p1, p2 = upload["parts"]
    r = send(gw, "POST", f"/{upload['bucket']}/target?uploadId={upload['id']}", complete_body([p2, p1]))
    assert_refused_then_completes(gw, upload, r, 400, "InvalidPartOrder")


# (x-amz-copy-source, allowed (status, code) answers). `{b}` is the test bucket, which holds `src key`.
BAD_COPY_SOURCES = [
    ("nobucket", {(400, "InvalidArgument")}),
    ("/", {(400, "InvalidArgument")}),
    ("{b}", {(400, "InvalidArgument")}),
    ("{b}/", {(400, "InvalidArgument")}),
    ("/{b}/", {(400, "InvalidArgument")}),
    ("%zz/key", {(400, "InvalidArgument"), (404, "NoSuchBucket")}),
    ("/{b}/%zz", {(400, "InvalidArgument"), (404, "NoSuchKey")}),
    ("{b}/missing", {(404, "NoSuchKey")}),
]


def copy_request(gw, s3, bucket, operation, source):
    """CopyObject to `dst`, or UploadPartCopy into a fresh upload of `dst` (returned for cleanup)."""
    if operation == "CopyObject":
        return send(gw, "PUT", f"/{bucket}/dst", headers={"x-amz-copy-source": source}), None
    up = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = send(gw, "PUT", f"/{bucket}/dst?partNumber=1&uploadId={up}", headers={"x-amz-copy-source": source})
    return r, up


@pytest.mark.parametrize("operation", ["CopyObject", "UploadPartCopy"])
def test_valid_copy_source_forms_work(gw, bucket, operation):
    # Guards the cases below: the same hand-signed request copies with a good header.
    s3 = s3_client(gw)
    s3.put_object(Bucket=bucket, Key="src key", Body=b"source bytes")
    for source in (f"{bucket}/src%20key", f"/{bucket}/src%20key"):
        r, up = copy_request(gw, s3, bucket, operation, source)
        assert r.status_code == 200, r.text
        if up:
            assert [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="dst", UploadId=up)["Parts"]] == [12]
            s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=up)
        else:
            assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"source bytes"
            s3.delete_object(Bucket=bucket, Key="dst")


@pytest.mark.parametrize("operation", ["CopyObject", "UploadPartCopy"])
@pytest.mark.parametrize("source,answers", BAD_COPY_SOURCES, ids=[s for s, _ in BAD_COPY_SOURCES])
def test_malformed_copy_source(gw, bucket, operation, source, answers):
    s3 = s3_client(gw)
    s3.put_object(Bucket=bucket, Key="src key", Body=b"source bytes")
    before = blob_files(gw)
    r, up = copy_request(gw, s3, bucket, operation, source.format(b=bucket))
    try:
        assert (r.status_code, assert_s3_error(r, r.status_code)) in answers, f"{r.status_code} {r.text}"
        assert keys_of(s3, bucket) == ["src key"]
        if up:
            assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=up).get("Parts", []) == []
        assert blob_files(gw) == before
    finally:
        if up:
            s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=up)
    assert blob_files(gw) == before
