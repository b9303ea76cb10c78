"""Virtual-host addressing (`bucket.s3.e2e.test`) next to path style, with real boto3 clients.
The test process resolves *.e2e.test to 127.0.0.1; nothing else on the machine changes."""

import socket

import boto3
import pytest
import requests
from botocore.config import Config

DOMAIN = "s3.e2e.test"


@pytest.fixture
def local_dns(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def client(gw, style, signature_version="s3v4"):
    return boto3.client(
        "s3", endpoint_url=f"http://{DOMAIN}:{gw.http_port}", aws_access_key_id=gw.access_key,
        aws_secret_access_key=gw.secret_key, region_name="us-east-1",
        config=Config(signature_version=signature_version, s3={"addressing_style": style}))


def test_virtual_host_and_path_style_see_the_same_objects(gw, local_dns):
    vh, path = client(gw, "virtual"), client(gw, "path")
    bucket = "vhost-e2e-bucket"
    vh.create_bucket(Bucket=bucket)
    vh.put_object(Bucket=bucket, Key="dir/a b+c", Body=b"virtual")
    assert path.get_object(Bucket=bucket, Key="dir/a b+c")["Body"].read() == b"virtual"
    assert [o["Key"] for o in vh.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/a b+c"]
    # Presigned URLs in both signature versions, virtual-host style (SigV2 signs /bucket/key).
    for sv in ("s3", "s3v4"):
        url = client(gw, "virtual", sv).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c"})
        assert url.startswith(f"http://{bucket}.{DOMAIN}:"), url
        r = requests.get(url)
        assert r.status_code == 200 and r.content == b"virtual", (sv, r.status_code, r.text[:300])
    vh.delete_object(Bucket=bucket, Key="dir/a b+c")
    vh.delete_bucket(Bucket=bucket)
