"""minio-py (PyPI) against the gateway: UNSIGNED-PAYLOAD over HTTPS, hex payload hash over HTTP."""

import io
import os

import requests
import urllib3
from minio import Minio

from conftest import REGION, new_bucket_name


def minio_client(gw, scheme):
    http_client = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=gw.ca_file, retries=False)
    port = gw.https_port if scheme == "https" else gw.http_port
    return Minio(f"127.0.0.1:{port}", access_key=gw.access_key, secret_key=gw.secret_key,
                 secure=scheme == "https", region=REGION, http_client=http_client)


def test_minio_bucket_and_object_lifecycle(gw, scheme):
    mc = minio_client(gw, scheme)
    bucket = new_bucket_name("minio")
    data = os.urandom(1024 * 1024 + 7)

    mc.make_bucket(bucket)
    assert mc.bucket_exists(bucket)
    mc.put_object(bucket, "dir/obj.bin", io.BytesIO(data), len(data), content_type="application/x-test",
                  metadata={"x-amz-meta-owner": "tests"})
    st = mc.stat_object(bucket, "dir/obj.bin")
    assert st.size == len(data)
    assert st.content_type == "application/x-test"
    assert st.metadata.get("x-amz-meta-owner") == "tests"

    resp = mc.get_object(bucket, "dir/obj.bin")
    try:
        assert resp.read() == data
    finally:
        resp.close()
        resp.release_conn()
    assert [o.object_name for o in mc.list_objects(bucket, recursive=True)] == ["dir/obj.bin"]
    assert [o.object_name for o in mc.list_objects(bucket)] == ["dir/"]

    url = mc.presigned_get_object(bucket, "dir/obj.bin")
    assert "X-Amz-Signature=" in url
    r = requests.get(url, verify=gw.ca_file if scheme == "https" else True)
    assert r.status_code == 200 and r.content == data

    mc.remove_object(bucket, "dir/obj.bin")
    assert list(mc.list_objects(bucket, recursive=True)) == []
    mc.remove_bucket(bucket)
    assert not mc.bucket_exists(bucket)
