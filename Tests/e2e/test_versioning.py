"""Bucket versioning through real clients (boto3, the aws CLI) against nginx + the gateway, once
with the bytes on a filesystem zone and once on a provider zone (moto_server): every write of an
Enabled bucket is a version, DELETE adds a delete marker, old versions read back byte for byte,
and the tools that empty a versioned bucket (aws s3api, boto3 object_versions.delete()) do."""

import json
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import Moto, client_env, new_bucket_name, run, s3_client, stack_on_zone

MIB = 1024 * 1024


@pytest.fixture(scope="module", params=["filesystem", "provider"])
def vgw(request):
    """A gateway whose buckets live on a filesystem zone, or on a moto provider zone."""
    yield from stack_on_zone(
        f"versioning-{request.param}", Moto("moto-versioning") if request.param == "provider" else None)


def versioned_bucket(client, status="Enabled") -> str:
    name = new_bucket_name("ver")
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


def listing(client, bucket, **kwargs):
    """Every entry of ListObjectVersions, through the paginator: (kind, key, id, latest)."""
    out = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, **kwargs):
        # boto3 splits the interleaved entries into two lists; both keep the document's order.
        for v in page.get("Versions", []):
            out.append(("version", v["Key"], v["VersionId"], v["IsLatest"]))
        for m in page.get("DeleteMarkers", []):
            out.append(("marker", m["Key"], m["VersionId"], m["IsLatest"]))
    return sorted(out, key=lambda e: (e[1], [-ord(c) for c in e[2]]))


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


def empty(client, bucket):
    for e in listing(client, bucket):
        client.delete_object(Bucket=bucket, Key=e[1], VersionId=e[2])
    client.delete_bucket(Bucket=bucket)


def test_overwrites_and_deletes_list_exactly_the_versions_and_markers(vgw):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    bodies = {}
    ids = {"doc": [], "gone": [], "dir/x": []}
    for i in range(3):
        data = os.urandom(1000 + i)
        vid = client.put_object(Bucket=bucket, Key="doc", Body=data)["VersionId"]
        bodies[vid] = data
        ids["doc"].append(vid)
    data = os.urandom(10)
    ids["gone"].append(client.put_object(Bucket=bucket, Key="gone", Body=data)["VersionId"])
    bodies[ids["gone"][0]] = data
    d = client.delete_object(Bucket=bucket, Key="gone")
    assert d["DeleteMarker"] is True
    ids["gone"].append(d["VersionId"])
    ids["dir/x"].append(client.put_object(Bucket=bucket, Key="dir/x", Body=b"1")["VersionId"])
    ids["dir/x"].append(client.delete_object(Bucket=bucket, Key="dir/x")["VersionId"])
    ids["dir/x"].append(client.put_object(Bucket=bucket, Key="dir/x", Body=b"2")["VersionId"])
    assert len({v for vs in ids.values() for v in vs}) == 8, ids

    want = sorted([
        ("version", "doc", ids["doc"][2], True), ("version", "doc", ids["doc"][1], False),
        ("version", "doc", ids["doc"][0], False),
        ("marker", "gone", ids["gone"][1], True), ("version", "gone", ids["gone"][0], False),
        ("version", "dir/x", ids["dir/x"][2], True), ("marker", "dir/x", ids["dir/x"][1], False),
        ("version", "dir/x", ids["dir/x"][0], False),
    ], key=lambda e: (e[1], [-ord(c) for c in e[2]]))
    assert listing(client, bucket) == want
    assert listing(client, bucket, PaginationConfig={"PageSize": 1}) == want, "one entry per page"
    # The raw order: keys ascending, within a key newest first (version ids sort by age).
    page = client.list_object_versions(Bucket=bucket, Prefix="doc")
    assert [v["VersionId"] for v in page["Versions"]] == ids["doc"][::-1]
    assert all("ETag" in v and "Size" in v for v in page["Versions"])

    for vid, data in bodies.items():
        assert client.get_object(Bucket=bucket, Key="doc" if vid in ids["doc"] else "gone",
                                 VersionId=vid)["Body"].read() == data
    latest = client.get_object(Bucket=bucket, Key="doc")
    assert latest["VersionId"] == ids["doc"][2]
    assert latest["Body"].read() == bodies[ids["doc"][2]]

    # The deleted key: 404 with the marker's headers, on GET and HEAD; absent from ListObjects.
    for call in (client.get_object, client.head_object):
        err = error_of(lambda: call(Bucket=bucket, Key="gone"))
        headers = err["ResponseMetadata"]["HTTPHeaders"]
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert headers["x-amz-delete-marker"] == "true"
        assert headers["x-amz-version-id"] == ids["gone"][1]
        assert "last-modified" in headers
    err = error_of(lambda: client.get_object(Bucket=bucket, Key="gone", VersionId=ids["gone"][1]))
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert err["Error"]["Code"] == "MethodNotAllowed"
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/x", "doc"]
    err = error_of(lambda: client.get_object(Bucket=bucket, Key="doc", VersionId="0" * 32))
    assert err["Error"]["Code"] == "NoSuchVersion"

    # Removing the marker by its id brings the key back.
    undo = client.delete_object(Bucket=bucket, Key="gone", VersionId=ids["gone"][1])
    assert undo["DeleteMarker"] is True and undo["VersionId"] == ids["gone"][1]
    assert client.get_object(Bucket=bucket, Key="gone")["Body"].read() == bodies[ids["gone"][0]]
    empty(client, bucket)


def test_aws_cli_list_object_versions_and_delete_each_empty_the_bucket(vgw, tmp_path):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    for i in range(3):
        client.put_object(Bucket=bucket, Key=f"k{i % 2}", Body=b"v%d" % i)
    client.delete_object(Bucket=bucket, Key="k0")
    env = client_env(vgw, "http", tmp_path)
    aws = ["aws", "--endpoint-url", vgw.url("http"), "s3api"]
    listed = json.loads(run(aws + ["list-object-versions", "--bucket", bucket, "--page-size", "2"],
                            env=env, stack=vgw).stdout)
    entries = listed.get("Versions", []) + listed.get("DeleteMarkers", [])
    assert len(listed.get("Versions", [])) == 3 and len(listed.get("DeleteMarkers", [])) == 1, listed
    assert sum(1 for e in entries if e["IsLatest"]) == 2
    # Not empty yet: a bucket holding versions cannot be deleted.
    assert run(aws + ["delete-bucket", "--bucket", bucket], env=env, check=False).returncode != 0
    for e in entries:
        out = json.loads(run(aws + ["delete-object", "--bucket", bucket, "--key", e["Key"],
                                    "--version-id", e["VersionId"]], env=env, stack=vgw).stdout)
        assert out["VersionId"] == e["VersionId"]
    assert json.loads(run(aws + ["list-object-versions", "--bucket", bucket], env=env, stack=vgw).stdout or "{}") \
        .get("Versions") is None
    run(aws + ["delete-bucket", "--bucket", bucket], env=env, stack=vgw)
    assert bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_boto3_object_versions_delete_empties_a_versioned_bucket(vgw):
    import boto3

    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    for key in ["a", "a", "b/c", "b/c", "d"]:
        client.put_object(Bucket=bucket, Key=key, Body=os.urandom(64))
    client.delete_object(Bucket=bucket, Key="d")
    assert len(listing(client, bucket)) == 6
    resource = boto3.resource("s3", endpoint_url=vgw.url("http"), aws_access_key_id=vgw.access_key,
                              aws_secret_access_key=vgw.secret_key, region_name="us-east-1",
                              config=client.meta.config)
    resource.Bucket(bucket).object_versions.delete()
    assert listing(client, bucket) == []
    resource.Bucket(bucket).delete()


def test_suspended_writes_replace_the_null_version(vgw):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    kept = client.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    assert client.put_object(Bucket=bucket, Key="k", Body=b"null one")["VersionId"] == "null"
    assert client.put_object(Bucket=bucket, Key="k", Body=b"null two")["VersionId"] == "null"
    assert listing(client, bucket) == [("version", "k", kept, False), ("version", "k", "null", True)] or \
        listing(client, bucket) == [("version", "k", "null", True), ("version", "k", kept, False)]
    assert client.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null two"
    assert client.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"kept"
    d = client.delete_object(Bucket=bucket, Key="k")
    assert d["DeleteMarker"] is True and d["VersionId"] == "null"
    assert {e[0] for e in listing(client, bucket)} == {"version", "marker"}
    assert len(listing(client, bucket)) == 2, "the null version became the null marker"
    empty(client, bucket)


def test_multipart_complete_creates_a_version(vgw, tmp_path):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    first = client.put_object(Bucket=bucket, Key="big", Body=b"small first")["VersionId"]
    data = os.urandom(6 * MIB + 5)
    path = tmp_path / "big"
    path.write_bytes(data)
    client.upload_file(str(path), bucket, "big",
                       Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    head = client.head_object(Bucket=bucket, Key="big")
    assert head["VersionId"] not in (first, "null")
    assert head["ETag"].endswith('-2"')
    assert [e[2] for e in listing(client, bucket)] == [head["VersionId"], first]
    assert client.get_object(Bucket=bucket, Key="big", VersionId=first)["Body"].read() == b"small first"
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == data
    # The low-level answer names the version too.
    up = client.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key="big", UploadId=up, PartNumber=1, Body=b"tiny")["ETag"]
    done = client.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert done["VersionId"] == client.head_object(Bucket=bucket, Key="big")["VersionId"]
    assert len(listing(client, bucket)) == 3
    empty(client, bucket)


def test_copy_from_an_old_version(vgw):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    old = os.urandom(300)
    v1 = client.put_object(Bucket=bucket, Key="src", Body=old)["VersionId"]
    client.put_object(Bucket=bucket, Key="src", Body=b"newer")
    c = client.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert c["CopySourceVersionId"] == v1
    assert c["VersionId"] not in (v1, "null")
    assert client.get_object(Bucket=bucket, Key="dst")["Body"].read() == old
    # Restoring the old version as the latest of its own key, as S3's documentation shows.
    client.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert client.get_object(Bucket=bucket, Key="src")["Body"].read() == old
    assert len([e for e in listing(client, bucket) if e[1] == "src"]) == 3
    marker = client.delete_object(Bucket=bucket, Key="src")["VersionId"]
    err = error_of(lambda: client.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src"}))
    assert err["Error"]["Code"] == "NoSuchKey"
    err = error_of(lambda: client.copy_object(Bucket=bucket, Key="x",
                                              CopySource={"Bucket": bucket, "Key": "src", "VersionId": marker}))
    assert err["Error"]["Code"] == "InvalidRequest"
    empty(client, bucket)


def test_tagging_a_noncurrent_version_leaves_the_latest_alone(vgw):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    old = client.put_object(Bucket=bucket, Key="k", Body=b"old", Tagging="state=first")["VersionId"]
    new = client.put_object(Bucket=bucket, Key="k", Body=b"new", Tagging="state=latest")["VersionId"]

    def tags(**version):
        r = client.get_object_tagging(Bucket=bucket, Key="k", **version)
        return r["VersionId"], {t["Key"]: t["Value"] for t in r["TagSet"]}

    put = client.put_object_tagging(Bucket=bucket, Key="k", VersionId=old,
                                    Tagging={"TagSet": [{"Key": "class", "Value": "archive"}]})
    assert put["VersionId"] == old
    assert tags(VersionId=old) == (old, {"class": "archive"})
    assert tags() == (new, {"state": "latest"}) == tags(VersionId=new)
    assert client.head_object(Bucket=bucket, Key="k", VersionId=old)["ResponseMetadata"]["HTTPHeaders"].get(
        "x-amz-tagging-count") == "1"
    assert client.delete_object_tagging(Bucket=bucket, Key="k", VersionId=old)["VersionId"] == old
    assert tags(VersionId=old) == (old, {})
    assert tags() == (new, {"state": "latest"})
    assert client.get_object(Bucket=bucket, Key="k", VersionId=old)["Body"].read() == b"old"
    # The tags of a version that does not exist, and of a delete marker (S3: 405 MethodNotAllowed).
    assert error_of(lambda: tags(VersionId="0" * 32))["Error"]["Code"] == "NoSuchVersion"
    marker = client.delete_object(Bucket=bucket, Key="k")["VersionId"]
    assert error_of(lambda: tags(VersionId=marker))["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert tags(VersionId=old) == (old, {})
    empty(client, bucket)


def test_list_object_versions_with_prefix_and_delimiter(vgw):
    client = s3_client(vgw)
    bucket = versioned_bucket(client)
    ids = {}
    for key in ["a/1", "a/1", "a/b/2", "a/c", "b/3", "top"]:
        ids.setdefault(key, []).append(client.put_object(Bucket=bucket, Key=key, Body=key.encode())["VersionId"])
    # A key under a/ whose only versions are markers, one under a/d/ that is gone entirely.
    for key in ["a/c", "a/d/gone", "top"]:
        ids.setdefault(key, []).append(client.delete_object(Bucket=bucket, Key=key)["VersionId"])

    r = client.list_object_versions(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["a/b/", "a/d/"], r
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in r["Versions"]] == [
        ("a/1", ids["a/1"][1], True), ("a/1", ids["a/1"][0], False), ("a/c", ids["a/c"][0], False)], r
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in r["DeleteMarkers"]] == [
        ("a/c", ids["a/c"][1], True)], r
    assert r["Prefix"] == "a/" and r["Delimiter"] == "/" and r["IsTruncated"] is False

    # At the top: every first-level folder is one prefix, its markers included; "top" is listed.
    r = client.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["a/", "b/"], r
    assert [(v["Key"], v["IsLatest"]) for v in r["Versions"]] == [("top", False)], r
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in r["DeleteMarkers"]] == [
        ("top", ids["top"][1], True)], r
    # One entry per page: the prefixes and versions come in order, each once.
    seen = []
    for page in client.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix="a/", Delimiter="/", PaginationConfig={"PageSize": 1}):
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        seen += [v["VersionId"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    assert sorted(seen) == sorted(["a/b/", "a/d/", *ids["a/1"], *ids["a/c"]]) and len(seen) == 6, seen
    empty(client, bucket)
