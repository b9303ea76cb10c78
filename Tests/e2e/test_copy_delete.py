"""Server-side copy, multi-object delete and conditional writes as real clients use them."""

import concurrent.futures
import datetime
import filecmp
import os

import pytest
from botocore.exceptions import ClientError

from conftest import client_env, new_bucket_name, rclone_env, run, s3_client, s3cmd_config


def test_aws_cli_copy_move_and_recursive_delete(gw, scheme, tmp_path):
    env = client_env(gw, scheme, tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    aws = ["aws", "--endpoint-url", gw.url(scheme), "s3"]
    src, dst = new_bucket_name("cpsrc"), new_bucket_name("cpdst")
    tree = tmp_path / "tree"
    (tree / "sub dir").mkdir(parents=True)
    names = ["plain.txt", "sub dir/spa ce+plus%pct~!*'().txt", "sub dir/ünï.txt"]
    for i, n in enumerate(names):
        (tree / n).write_bytes(os.urandom(1000 + i))
    run(aws + ["mb", f"s3://{src}"], env=env, stack=gw)
    run(aws + ["mb", f"s3://{dst}"], env=env, stack=gw)
    run(aws + ["sync", str(tree), f"s3://{src}/t"], env=env, stack=gw)
    run(aws + ["cp", "--recursive", f"s3://{src}/t", f"s3://{dst}/copied"], env=env, stack=gw)
    run(aws + ["mv", f"s3://{dst}/copied/plain.txt", f"s3://{dst}/moved.txt"], env=env, stack=gw)
    run(aws + ["sync", f"s3://{dst}/copied", str(tmp_path / "back")], env=env, stack=gw)
    for n in names[1:]:
        assert filecmp.cmp(tree / n, tmp_path / "back" / n, shallow=False), n
    run(aws + ["cp", f"s3://{dst}/moved.txt", str(tmp_path / "moved")], env=env, stack=gw)
    assert filecmp.cmp(tree / "plain.txt", tmp_path / "moved", shallow=False)
    s3 = s3_client(gw, scheme)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=dst)["Contents"]}
    assert keys == {"moved.txt"} | {f"copied/{n}" for n in names[1:]}
    run(aws + ["rm", "--recursive", f"s3://{src}"], env=env, stack=gw)
    assert s3.list_objects_v2(Bucket=src)["KeyCount"] == 0
    run(aws + ["rb", "--force", f"s3://{dst}"], env=env, stack=gw)
    run(aws + ["rb", f"s3://{src}"], env=env, stack=gw)


def test_boto3_delete_objects_and_copy_replace(gw, scheme):
    s3 = s3_client(gw, scheme)
    bucket = new_bucket_name("mdel")
    s3.create_bucket(Bucket=bucket)
    for i in range(30):
        s3.put_object(Bucket=bucket, Key=f"k/{i}", Body=b"x")
    # botocore sends x-amz-checksum-crc32 here, not Content-MD5: both must be accepted.
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k/{i}"} for i in range(20)] + [{"Key": "nope"}]})
    assert len(r["Deleted"]) == 21 and not r.get("Errors")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k/{i}"} for i in range(20, 30)], "Quiet": True})
    assert not r.get("Deleted") and not r.get("Errors")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    s3.put_object(Bucket=bucket, Key="m", Body=b"meta", Metadata={"a": "1"}, ContentType="text/a")
    s3.copy_object(Bucket=bucket, Key="m", CopySource={"Bucket": bucket, "Key": "m"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/b")
    h = s3.head_object(Bucket=bucket, Key="m")
    assert h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/b"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="m", CopySource={"Bucket": bucket, "Key": "m"})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    s3.delete_object(Bucket=bucket, Key="m")
    s3.delete_bucket(Bucket=bucket)


def test_if_none_match_race_has_one_winner(gw):
    s3 = s3_client(gw, "http")
    bucket = new_bucket_name("race")
    s3.create_bucket(Bucket=bucket)
    bodies = [os.urandom(256 * 1024) for _ in range(8)]

    def attempt(i):
        try:
            s3.put_object(Bucket=bucket, Key="contended", Body=bodies[i], IfNoneMatch="*")
            return i
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (409, 412), e.response
            return None

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        winners = [w for w in pool.map(attempt, range(8)) if w is not None]
    assert len(winners) == 1, winners
    assert s3.get_object(Bucket=bucket, Key="contended")["Body"].read() == bodies[winners[0]]
    s3.delete_object(Bucket=bucket, Key="contended")
    s3.delete_bucket(Bucket=bucket)


def test_s3cmd_and_rclone_server_side_copy(gw, scheme, tmp_path):
    bucket = new_bucket_name("sscp")
    cfg = s3cmd_config(gw, scheme, tmp_path)
    s3cmd = ["s3cmd", "-c", str(cfg)]
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(300_000))
    run(s3cmd + ["mb", f"s3://{bucket}"], stack=gw)
    run(s3cmd + ["put", str(src), f"s3://{bucket}/a"], stack=gw)
    run(s3cmd + ["cp", f"s3://{bucket}/a", f"s3://{bucket}/b"], stack=gw)
    env = rclone_env(gw, scheme, tmp_path)
    run(["rclone", "moveto", f"gw:{bucket}/b", f"gw:{bucket}/c"], env=env, stack=gw)
    run(["rclone", "copyto", f"gw:{bucket}/c", str(tmp_path / "c")], env=env, stack=gw)
    assert filecmp.cmp(src, tmp_path / "c", shallow=False)
    listing = run(["rclone", "lsf", f"gw:{bucket}"], env=env, stack=gw).stdout.split()
    assert listing == ["a", "c"], listing
    run(["rclone", "purge", f"gw:{bucket}"], env=env, stack=gw)


def test_boto3_conditional_deletes(gw):
    """DeleteObject's IfMatch / IfMatchSize / IfMatchLastModifiedTime and DeleteObjects' per-key
    ETag / Size: a condition that does not hold is a 412 (a per-key Error) and the object stays;
    IfMatch on no object is NoSuchKey; with a VersionId it is refused, not ignored."""
    s3 = s3_client(gw)
    bucket = new_bucket_name("cdel")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    etag, version = put["ETag"], put["VersionId"]
    last_modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]

    for kwargs in ({"IfMatch": '"0123456789abcdef0123456789abcdef"'}, {"IfMatchSize": 6},
                   {"IfMatchLastModifiedTime": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}):
        with pytest.raises(ClientError) as e:
            s3.delete_object(Bucket=bucket, Key="k", **kwargs)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412, kwargs
        assert e.value.response["Error"]["Code"] == "PreconditionFailed", kwargs
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello", kwargs
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version, IfMatch=etag)
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="absent", IfMatch="*")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"

    r = s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag, IfMatchSize=5, IfMatchLastModifiedTime=last_modified)
    assert r["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    # The marker is the current version now: If-Match finds no object.
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read() == b"hello"

    a = s3.put_object(Bucket=bucket, Key="a", Body=b"aa")["ETag"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"bb")
    s3.put_object(Bucket=bucket, Key="c", Body=b"cc")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a", "ETag": a, "Size": 2},
        {"Key": "b", "ETag": '"0123456789abcdef0123456789abcdef"'},
        {"Key": "c", "Size": 3},
        {"Key": "gone", "ETag": a},
    ]})
    assert [d["Key"] for d in r.get("Deleted", [])] == ["a"], r
    errors = {x["Key"]: x["Code"] for x in r.get("Errors", [])}
    assert errors == {"b": "PreconditionFailed", "c": "PreconditionFailed", "gone": "NoSuchKey"}, r
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"bb"
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"cc"
