"""Multipart uploads through real clients with their default thresholds, over HTTP and HTTPS:
the bytes round-trip, the ETag is S3's md5-of-md5s, and nothing of an aborted upload remains."""

import filecmp
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from conftest import client_env, new_bucket_name, rclone_env, run, s3_client, s3cmd_config

MIB = 1024 * 1024


def s3_etag(path, part_size):
    data = path.read_bytes()
    md5s = b"".join(hashlib.md5(data[i : i + part_size]).digest() for i in range(0, len(data), part_size))
    return f'"{hashlib.md5(md5s).hexdigest()}-{(len(data) + part_size - 1) // part_size}"'


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(21 * MIB + 123))
    return path


def test_aws_cli_default_multipart(gw, scheme, tmp_path, big_file):
    env = client_env(gw, scheme, tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    aws = ["aws", "--endpoint-url", gw.url(scheme), "s3"]
    bucket = new_bucket_name("mpaws")
    run(aws + ["mb", f"s3://{bucket}"], env=env, stack=gw)
    run(aws + ["cp", str(big_file), f"s3://{bucket}/dir/big.bin"], env=env, stack=gw)
    run(aws + ["cp", f"s3://{bucket}/dir/big.bin", str(tmp_path / "back")], env=env, stack=gw)
    assert filecmp.cmp(big_file, tmp_path / "back", shallow=False)
    s3 = s3_client(gw, scheme)
    head = s3.head_object(Bucket=bucket, Key="dir/big.bin", ChecksumMode="ENABLED")
    assert head["ETag"] == s3_etag(big_file, 8 * MIB)  # the CLI's default part size
    assert head["ContentLength"] == big_file.stat().st_size
    run(aws + ["rb", "--force", f"s3://{bucket}"], env=env, stack=gw)


def test_boto3_parallel_parts_abort_and_list(gw, scheme, tmp_path, big_file):
    from boto3.s3.transfer import TransferConfig

    s3 = s3_client(gw, scheme)
    bucket = new_bucket_name("mpboto")
    s3.create_bucket(Bucket=bucket)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=6)
    s3.upload_file(str(big_file), bucket, "big", Config=cfg)
    s3.download_file(bucket, "big", str(tmp_path / "back"), Config=cfg)
    assert filecmp.cmp(big_file, tmp_path / "back", shallow=False)
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"] == s3_etag(big_file, 5 * MIB)

    def blob_files():
        return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}

    # An aborted upload leaves no object, no listed upload, no blob, and its parts are refused after.
    before = blob_files()
    up = s3.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="aborted", UploadId=up, PartNumber=1, Body=os.urandom(5 * MIB))
    listed = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in listed] == [up]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="aborted", UploadId=up)["Parts"]] == [1]
    s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=up)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="aborted", UploadId=up, PartNumber=2, Body=b"x")
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="aborted")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert blob_files() == before

    # Completing with a part that is too small (not the last) is EntityTooSmall; nothing appears.
    up = s3.create_multipart_upload(Bucket=bucket, Key="small-parts")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=up, PartNumber=1, Body=b"a" * 1000)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small-parts", UploadId=up, PartNumber=2, Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small-parts", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert e.value.response["Error"]["Code"] == "EntityTooSmall"
    assert "small-parts" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    s3.abort_multipart_upload(Bucket=bucket, Key="small-parts", UploadId=up)
    s3.delete_object(Bucket=bucket, Key="big")
    s3.delete_bucket(Bucket=bucket)


def test_s3cmd_and_rclone_multipart(gw, scheme, tmp_path, big_file):
    bucket = new_bucket_name("mpcli")
    cfg = s3cmd_config(gw, scheme, tmp_path)
    s3cmd = ["s3cmd", "-c", str(cfg)]
    run(s3cmd + ["mb", f"s3://{bucket}"], stack=gw)
    run(s3cmd + ["--multipart-chunk-size-mb=5", "put", str(big_file), f"s3://{bucket}/s3cmd.bin"], stack=gw)
    run(s3cmd + ["get", "--force", f"s3://{bucket}/s3cmd.bin", str(tmp_path / "s3cmd.back")], stack=gw)
    assert filecmp.cmp(big_file, tmp_path / "s3cmd.back", shallow=False)

    env = rclone_env(gw, scheme, tmp_path)
    env.update(RCLONE_CONFIG_GW_UPLOAD_CUTOFF="5M", RCLONE_CONFIG_GW_CHUNK_SIZE="5M")
    run(["rclone", "copyto", str(big_file), f"gw:{bucket}/rclone.bin"], env=env, stack=gw)
    run(["rclone", "copyto", f"gw:{bucket}/rclone.bin", str(tmp_path / "rclone.back")], env=env, stack=gw)
    assert filecmp.cmp(big_file, tmp_path / "rclone.back", shallow=False)
    run(["rclone", "purge", f"gw:{bucket}"], env=env, stack=gw)


def test_minio_multipart(gw, tmp_path, big_file):
    from minio import Minio

    m = Minio(f"127.0.0.1:{gw.http_port}", access_key=gw.access_key, secret_key=gw.secret_key, secure=False)
    bucket = new_bucket_name("mpminio")
    m.make_bucket(bucket)
    m.fput_object(bucket, "m.bin", str(big_file), part_size=5 * MIB)
    m.fget_object(bucket, "m.bin", str(tmp_path / "back"))
    assert filecmp.cmp(big_file, tmp_path / "back", shallow=False)
    m.remove_object(bucket, "m.bin")
    m.remove_bucket(bucket)


def test_boto3_upload_part_copy_and_managed_copy(gw, scheme):
    from boto3.s3.transfer import TransferConfig

    s3 = s3_client(gw, scheme)
    bucket = new_bucket_name("mpcopy")
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(12 * MIB + 5)
    s3.put_object(Bucket=bucket, Key="src", Body=data)
    # boto3's managed copy of a large object uses UploadPartCopy with x-amz-copy-source-range.
    s3.copy({"Bucket": bucket, "Key": "src"}, bucket, "dst",
            Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == data
    up = s3.create_multipart_upload(Bucket=bucket, Key="ranged")["UploadId"]
    etag = s3.upload_part_copy(Bucket=bucket, Key="ranged", UploadId=up, PartNumber=1,
                               CopySource={"Bucket": bucket, "Key": "src"},
                               CopySourceRange="bytes=100-199")["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="ranged", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="ranged")["Body"].read() == data[100:200]
    for k in ("src", "dst", "ranged"):
        s3.delete_object(Bucket=bucket, Key=k)
    s3.delete_bucket(Bucket=bucket)
