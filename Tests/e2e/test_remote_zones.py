"""Zones on S3-compatible providers: two moto_server processes on 127.0.0.1 stand for providers
in Finland and Germany. Clients talk only to the gateway; the tests then look inside each
provider to see where the bytes really are."""

import os
import subprocess
import time

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import Moto, NotYet, Stack, free_port, new_bucket_name, s3_client, s3gw_bin, wait_until

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def providers():
    fi = Moto("moto-fi")
    try:
        de = Moto("moto-de")
    except BaseException:
        fi.cleanup()
        raise
    yield fi, de
    fi.cleanup()
    de.cleanup()


@pytest.fixture(scope="module")
def remote_gw(providers):
    fi, de = providers
    zones = "".join(
        f"""
[[zones]]
name = "{name}"
country = "{country}"
region = "{region}"
kind = "s3"
endpoint = "http://127.0.0.1:{m.port}"
access_key = "moto"
secret_key = "moto-secret"
"""
        for name, country, region, m in [("fi-hel-demo-1", "fi", "fi-hel", fi), ("de-fra-demo-1", "de", "de-fra", de)])
    stack = Stack("remote", workers=2, extra=zones, storage_extra="health_interval = 1").start()
    yield stack
    stack.stop()
    stack.cleanup()


def client(gw):
    return s3_client(gw, "http", retries={"max_attempts": 1})


def test_bytes_land_only_in_the_placed_provider_under_a_hashed_name(remote_gw, providers):
    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("tenant-fi")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    data = os.urandom(3 * MIB + 7)
    s3.put_object(Bucket=bucket, Key="dir/a b+c", Body=data)
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c")["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c", Range="bytes=5-14")["Body"].read() == data[5:15]
    in_fi, in_de = fi.objects(), de.objects()
    assert not any(in_de.values()), in_de
    assert bucket not in in_fi, "the tenant's bucket name must not show at the provider"
    [(name, keys)] = [(n, k) for n, k in in_fi.items() if k]
    assert name.startswith("s3gw-") and len(keys) == 1
    assert fi.client().get_object(Bucket=name, Key=keys[0])["Body"].read() == data  # the very bytes
    s3.delete_object(Bucket=bucket, Key="dir/a b+c")
    assert not any(fi.objects().values())
    s3.delete_bucket(Bucket=bucket)


def test_multipart_copy_and_listing_on_a_remote_zone(remote_gw, providers):
    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("tenant-de")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "de-fra"})
    data = os.urandom(17 * MIB)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    path = remote_gw.tmp / "mp.bin"
    path.write_bytes(data)
    s3.upload_file(str(path), bucket, "mp", Config=cfg)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == data
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["copy", "mp"]
    assert not any(fi.objects().values())
    # The multipart upload was assembled by the provider's own multipart API: one object there
    # for "mp" (not one per part), one for "copy", and no upload left in progress.
    [(backend, keys)] = [(n, k) for n, k in de.objects().items() if k]
    assert len(keys) == 2, keys
    sizes = sorted(o["Size"] for o in de.client().list_objects_v2(Bucket=backend)["Contents"])
    assert sizes == [len(data), len(data)]
    assert not de.client().list_multipart_uploads(Bucket=backend).get("Uploads")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "mp"}, {"Key": "copy"}]})
    assert not any(de.objects().values())
    s3.delete_bucket(Bucket=bucket)


def test_unknown_location_is_invalid(remote_gw):
    s3 = client(remote_gw)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=new_bucket_name("nowhere"), CreateBucketConfiguration={"LocationConstraint": "mars"})
    assert e.value.response["Error"]["Code"] == "InvalidLocationConstraint"


def test_stopped_provider_gives_a_clean_error_and_nothing_visible(remote_gw, providers):
    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("tenant-down")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "de"})
    s3.put_object(Bucket=bucket, Key="before", Body=b"kept")
    de.stop()
    try:
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="during", Body=os.urandom(2 * MIB))
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="before")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["before"]
    finally:
        de.start()
    # The provider is back (moto restarted empty). The first write learns the backend bucket is
    # gone (a clean, retryable 503); the retry re-creates it on demand and succeeds.
    for attempt in range(3):
        try:
            s3.put_object(Bucket=bucket, Key="after", Body=b"x")
            break
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503, e.response
    else:
        pytest.fail("writes did not recover after the provider came back")
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"x"


def s3gw(*args):
    return subprocess.run([str(s3gw_bin()), *map(str, args)], capture_output=True, text=True, timeout=60)


def zone_state(gw, zone):
    out = s3gw("zones", "--config", gw.config).stdout
    line = next(l for l in out.splitlines() if l.startswith(zone))
    return line.split()[5 if "(default)" not in line else 6]


def wait_for_zone_state(gw, zone, state, timeout):
    """Polls `s3gw zones` (health is probed every second here) until `zone` shows `state`."""

    def shows_state():
        now = zone_state(gw, zone)
        if now != state:
            raise NotYet(f"{zone} is {now}")
        return True

    wait_until(shows_state, timeout, f"zone {zone} to be {state}", interval=0.5,
               detail=lambda: s3gw("zones", "--config", gw.config).stdout + "\n" + gw.log_tail())


def test_health_is_tracked_and_zones_shows_it(remote_gw, providers):
    fi, de = providers
    wait_for_zone_state(remote_gw, "de-fra-demo-1", "healthy", 20)
    de.stop()
    try:
        wait_for_zone_state(remote_gw, "de-fra-demo-1", "down", 20)
        out = s3gw("zones", "--config", remote_gw.config).stdout
        assert zone_state(remote_gw, "de-fra-demo-1") == "down", out
        assert "connect" in out.lower(), out
        assert zone_state(remote_gw, "fi-hel-demo-1") == "healthy", out
    finally:
        de.start()
    wait_for_zone_state(remote_gw, "de-fra-demo-1", "healthy", 20)


def test_config_check_probe_names_the_zone_and_why(remote_gw, providers, gw, tmp_path):
    fi, de = providers
    ok = s3gw("config", "check", "--probe", "--config", remote_gw.config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "zone de-fra-demo-1: ok" in ok.stdout
    # Wrong credentials: moto checks no signatures, so the session gateway (which does) plays
    # a provider here; an unused port plays an unreachable one.
    text = remote_gw.config.read_text() + f"""
[[zones]]
name = "xx-bad-creds"
country = "xx"
kind = "s3"
endpoint = "{gw.http_url}"
access_key = "{gw.access_key}"
secret_key = "not-the-secret"

[[zones]]
name = "xx-nowhere"
country = "xx"
kind = "s3"
endpoint = "http://127.0.0.1:{free_port()}"
access_key = "a"
secret_key = "b"
"""
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    r = s3gw("config", "check", "--probe", "--config", bad)
    assert r.returncode == 1
    assert "zone xx-bad-creds: credentials rejected" in r.stderr, r.stderr
    assert "zone xx-nowhere: unreachable" in r.stderr, r.stderr
    assert "zone fi-hel-demo-1: ok" in r.stdout


def test_buckets_show_names_the_backend_bucket(remote_gw, providers):
    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("shown")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi-hel-demo-1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    out = s3gw("buckets", "show", bucket, "--config", remote_gw.config).stdout
    backend = next(l.split()[-1] for l in out.splitlines() if "backend bucket" in l)
    assert "fi-hel-demo-1" in out and backend.startswith("s3gw-")
    assert fi.objects()[backend], out
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_provider_stopped_mid_upload_fails_cleanly(remote_gw, providers):
    import threading

    import requests

    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("midway")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "half"}, ExpiresIn=600)
    total = 64 * MIB
    half_way = threading.Event()

    class SlowBody:
        """A sized body (so a Content-Length is sent) that slows down after half of it."""

        def __init__(self):
            self.sent = 0
            self.chunk = os.urandom(MIB)

        def __len__(self):
            return total

        def read(self, n=-1):
            if self.sent >= total:
                return b""
            if self.sent >= total // 2:
                half_way.set()
                time.sleep(0.005)  # paces the second half: the provider dies while we are still sending
            piece = self.chunk[: min(len(self.chunk), n if n > 0 else len(self.chunk), total - self.sent)]
            self.sent += len(piece)
            return piece

    result = {}

    def upload():
        try:
            r = requests.put(url, data=SlowBody(), timeout=120)
            result["status"] = r.status_code
            result["body"] = r.text[:300]
        except requests.RequestException as e:
            result["error"] = e

    t = threading.Thread(target=upload)
    t.start()
    assert half_way.wait(60)
    fi.stop()
    try:
        t.join(120)
        assert not t.is_alive(), "the upload hung"
        assert result.get("status", 599) >= 500 or "error" in result, result
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    finally:
        fi.start()


def test_payload_signed_uploads_to_a_provider_that_verifies_them(gw, tmp_path):
    """The session gateway checks signed aws-chunks, so it plays a provider that refuses
    UNSIGNED-PAYLOAD-free shortcuts: every chunk signature must verify or nothing is stored."""
    zone = f"""
[[zones]]
name = "xx-signed-1"
country = "xx"
region = "xx-signed"
kind = "s3"
endpoint = "{gw.http_url}"
access_key = "{gw.access_key}"
secret_key = "{gw.secret_key}"
payload_signing = true
"""
    stack = Stack("signed", workers=1, extra=zone).start()
    try:
        s3 = client(stack)
        bucket = new_bucket_name("signed")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "xx"})
        for size in (0, 1, 64 * 1024, 300_000):
            data = os.urandom(size)
            s3.put_object(Bucket=bucket, Key=f"o{size}", Body=data)
            assert s3.get_object(Bucket=bucket, Key=f"o{size}")["Body"].read() == data
        inner = s3_client(gw)
        [backend] = [b["Name"] for b in inner.list_buckets()["Buckets"] if b["Name"].startswith("s3gw-")
                     and inner.list_objects_v2(Bucket=b["Name"]).get("KeyCount")]
        assert inner.list_objects_v2(Bucket=backend)["KeyCount"] == 4
        for size in (0, 1, 64 * 1024, 300_000):
            s3.delete_object(Bucket=bucket, Key=f"o{size}")
        assert inner.list_objects_v2(Bucket=backend)["KeyCount"] == 0
    finally:
        stack.stop()
        stack.cleanup()


def test_unknown_length_uploads_use_provider_multipart(remote_gw, providers):
    """A chunked upload with no length: small ones go as one PUT, larger ones as a multipart
    upload at the provider, 8 MiB at a time (never staged whole)."""
    import requests

    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("unknown-len")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "de"})
    for size in (3 * MIB + 5, 20 * MIB + 11):
        data = os.urandom(size)
        url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": f"k{size}"}, ExpiresIn=600)

        def chunks(d=data):
            for i in range(0, len(d), 1 << 20):
                yield d[i:i + (1 << 20)]

        r = requests.put(url, data=chunks())  # a generator: Transfer-Encoding: chunked, no length
        assert r.status_code == 200, r.text
        assert s3.get_object(Bucket=bucket, Key=f"k{size}")["Body"].read() == data
    backend = next(n for n, keys in de.objects().items() if keys)
    stored = de.client().list_objects_v2(Bucket=backend)["Contents"]
    assert sorted(o["Size"] for o in stored) == [3 * MIB + 5, 20 * MIB + 11]
    assert not de.client().list_multipart_uploads(Bucket=backend).get("Uploads")
    for size in (3 * MIB + 5, 20 * MIB + 11):
        s3.delete_object(Bucket=bucket, Key=f"k{size}")


def test_aborted_upload_leaves_nothing_at_the_provider(remote_gw, providers):
    fi, de = providers
    s3 = client(remote_gw)
    bucket = new_bucket_name("abort-remote")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    up = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=1, Body=os.urandom(MIB))
    backend = next(b["Name"] for b in fi.client().list_buckets()["Buckets"]
                   if fi.client().list_multipart_uploads(Bucket=b["Name"]).get("Uploads"))
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=up)
    assert not fi.client().list_multipart_uploads(Bucket=backend).get("Uploads")
    assert not fi.client().list_objects_v2(Bucket=backend).get("Contents")
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=up, PartNumber=2, Body=b"x")
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"
    s3.delete_bucket(Bucket=bucket)
