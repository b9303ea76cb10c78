"""A provider zone that hangs: its moto_server process is stopped with SIGSTOP, so the kernel
still accepts connections and takes bytes, but nothing ever answers. No client request may wait
on it for longer than the zone's bounds (here 2 s each) plus a little; what needs the zone fails
with 503 and stores nothing, what does not (HEAD, listings: metadata) still answers; the agent
marks the zone down; after SIGCONT everything works again. Also: `s3gw zones ls` reads what a
provider zone and a filesystem zone really hold."""

import hashlib
import os
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import Moto, NotYet, Stack, new_bucket_name, s3_client, s3gw_bin, wait_until

MIB = 1024 * 1024
BOUND = 2  # connect_timeout, response_timeout and stall_timeout of the hung zone
SLACK = 3  # what a request may take beyond the bound (nginx, the gateway, a busy 2-core machine)
ZONE = "fi-hung-1"


@pytest.fixture(scope="module")
def provider():
    moto = Moto("moto-hung")
    yield moto
    resume(moto)  # whatever a test did: a stopped process would ignore the SIGTERM of cleanup
    moto.cleanup()


@pytest.fixture(scope="module")
def hung_gw(provider):
    zone = f"""
[[zones]]
name = "{ZONE}"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:{provider.port}"
access_key = "moto"
secret_key = "moto-secret"
connect_timeout = {BOUND}
response_timeout = {BOUND}
stall_timeout = {BOUND}
"""
    stack = Stack("hung", workers=2, extra=zone, storage_extra="health_interval = 1").start()
    yield stack
    stack.stop()
    stack.cleanup()


def resume(moto):
    try:
        os.killpg(moto.proc.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


@contextmanager
def hung(moto):
    """The provider's process group is stopped inside the block and always continued after it."""
    os.killpg(moto.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        resume(moto)


def client(gw):
    # One attempt in all (botocore's max_attempts counts retries), and a client that waits longer
    # than the gateway may: a hang shows as a failed assertion, not as a client timeout.
    return s3_client(gw, "http", retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60,
                     connect_timeout=10)


@contextmanager
def within(limit, what):
    t0 = time.monotonic()
    yield
    took = time.monotonic() - t0
    assert took < limit, f"{what} took {took:.1f}s, more than {limit}s"


def s3_status(error: ClientError) -> tuple[int, str]:
    return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]


def s3gw(*args, timeout=60):
    return subprocess.run([str(s3gw_bin()), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def backend_bucket(gw, bucket):
    out = s3gw("buckets", "show", bucket, "--config", gw.config).stdout
    return next(line.split()[-1] for line in out.splitlines() if "backend bucket" in line)


def test_requests_to_a_hung_provider_end_within_the_bound(hung_gw, provider):
    s3 = client(hung_gw)
    bucket = new_bucket_name("hung")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    before = os.urandom(300_000)
    etag = s3.put_object(Bucket=bucket, Key="before", Body=before)["ETag"]
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    limit = BOUND + SLACK
    with hung(provider):
        with within(limit, "GET"), pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="before")["Body"].read()
        assert s3_status(e.value) == (503, "ServiceUnavailable")

        with within(limit, "a ranged GET"), pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="before", Range="bytes=10-19")
        assert s3_status(e.value) == (503, "ServiceUnavailable")

        with within(limit, "PUT"), pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="during", Body=os.urandom(MIB))
        assert s3_status(e.value) == (503, "ServiceUnavailable")

        with within(limit, "an overwriting PUT"), pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="other", Body=b"new")
        assert s3_status(e.value) == (503, "ServiceUnavailable")

        # HEAD and listings are answered from metadata, which is the source of truth: they
        # never wait on the zone, and show nothing of the failed PUTs.
        with within(limit, "HEAD"):
            head = s3.head_object(Bucket=bucket, Key="before")
        assert head["ETag"] == etag and head["ContentLength"] == len(before)
        with within(limit, "ListObjectsV2"):
            listed = s3.list_objects_v2(Bucket=bucket)
        assert {o["Key"]: o["Size"] for o in listed["Contents"]} == {"before": len(before), "other": 1}
        with within(limit, "HEAD of the failed PUT"), pytest.raises(ClientError) as e:
            s3.head_object(Bucket=bucket, Key="during")
        assert s3_status(e.value)[0] == 404

    # Continued: everything works again, and the failed writes left nothing visible.
    assert s3.get_object(Bucket=bucket, Key="before")["Body"].read() == before
    assert s3.get_object(Bucket=bucket, Key="other")["Body"].read() == b"x"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="during")
    assert s3_status(e.value)[0] == 404
    # Writes go to a zone again once the health checker has seen it answer (a primary it marks
    # down is refused at once).
    wait_for_state(hung_gw, "healthy", 20)
    after = os.urandom(2 * MIB)
    s3.put_object(Bucket=bucket, Key="after", Body=after)
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == after
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["after", "before", "other"]


def test_a_body_stalled_mid_way_ends_the_response(hung_gw, provider):
    """The headers (200, Content-Length) are already with the client when the provider stops
    sending: the response is cut short, the connection closed, and nothing hangs."""
    s3 = client(hung_gw)
    bucket = new_bucket_name("stall")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    size = 64 * MIB
    path = hung_gw.tmp / "big.bin"
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(os.urandom(MIB))
    s3.upload_file(str(path), bucket, "big")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "big"}, ExpiresIn=600)
    got = 0
    with requests.get(url, stream=True, timeout=(10, 60)) as r:
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == size
        chunks = r.iter_content(64 * 1024)
        while got < MIB:
            got += len(next(chunks))
        with hung(provider):
            t0 = time.monotonic()
            ended = None
            try:
                for chunk in chunks:
                    got += len(chunk)
            except requests.RequestException as e:
                ended = e
            took = time.monotonic() - t0
        assert got < size, "the whole body came although the provider was stopped"
        assert ended is not None or got < size
        # The bytes already in buffers drain at once; then one stall bound.
        assert took < BOUND + SLACK + 2, f"the cut took {took:.1f}s"
    # The provider is back: the object reads whole.
    digest = hashlib.md5()
    with requests.get(url, stream=True, timeout=(10, 120)) as r:
        for chunk in r.iter_content(MIB):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.md5(path.read_bytes()).hexdigest()
    s3.delete_object(Bucket=bucket, Key="big")


def zone_line(gw, zone):
    out = s3gw("zones", "--config", gw.config).stdout
    return next(line for line in out.splitlines() if line.startswith(zone))


def wait_for_state(gw, state, timeout):
    def shows():
        line = zone_line(gw, ZONE)
        if line.split()[5] != state:
            raise NotYet(line)
        return line

    return wait_until(shows, timeout, f"zone {ZONE} to be {state}", interval=0.5,
                      detail=lambda: s3gw("zones", "--config", gw.config).stdout + "\n" + gw.log_tail())


def test_agent_marks_the_hung_zone_down_and_healthy_again(hung_gw, provider):
    wait_for_state(hung_gw, "healthy", 20)
    with hung(provider):
        # Health is probed every second; each probe fails after one bound; three in a row: down.
        t0 = time.monotonic()
        line = wait_for_state(hung_gw, "down", 30)
        assert time.monotonic() - t0 < 3 * (BOUND + 1) + 10
        assert "no response headers within 2 s" in line, line
        # `s3gw zones` reads what the agent recorded: it answers at once while the zone hangs.
        with within(5, "s3gw zones"):
            assert s3gw("zones", "--config", hung_gw.config).returncode == 0
    wait_for_state(hung_gw, "healthy", 20)


def test_zones_ls_shows_what_each_zone_really_holds(hung_gw, provider):
    s3 = client(hung_gw)
    objects = {"a": os.urandom(1000), "b/c": os.urandom(123_456), "d e": b""}
    for location, zone in (("fi", ZONE), (None, "local-1")):
        bucket = new_bucket_name("inventory")
        if location:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location})
        else:
            s3.create_bucket(Bucket=bucket)
        etags = {k: s3.put_object(Bucket=bucket, Key=k, Body=v)["ETag"].strip('"') for k, v in objects.items()}
        backend = backend_bucket(hung_gw, bucket)

        buckets = s3gw("zones", "ls", zone, "--config", hung_gw.config)
        assert buckets.returncode == 0, buckets.stderr
        assert backend in buckets.stdout.split(), buckets.stdout
        assert all(name.startswith("s3gw-") for name in buckets.stdout.split())

        r = s3gw("zones", "ls", zone, backend, "--config", hung_gw.config)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:2] == ["BLOB", "SIZE"]
        rows = [line.split() for line in lines[1:-1]]
        assert lines[-1] == f"total: 3 blobs, {sum(map(len, objects.values()))} bytes", r.stdout
        assert sorted(int(row[1]) for row in rows) == sorted(map(len, objects.values()))
        assert [row[0] for row in rows] == sorted(row[0] for row in rows), "blobs come in id order"
        if location:
            # The provider's own ETags: the MD5 of each blob, the same as the objects'.
            assert sorted(row[2] for row in rows) == sorted(etags.values())
            held = provider.client().list_objects_v2(Bucket=backend)["Contents"]
            assert sorted(o["Key"] for o in held) == [row[0] for row in rows]
        else:
            assert {row[2] for row in rows} == {"-"}
            on_disk = sorted(p.name for p in (hung_gw.zone_dir / "buckets" / backend).rglob("*") if p.is_file())
            assert on_disk == [row[0] for row in rows]
        for k in objects:
            s3.delete_object(Bucket=bucket, Key=k)
        r = s3gw("zones", "ls", zone, backend, "--config", hung_gw.config)
        assert r.stdout.splitlines()[-1] == "total: 0 blobs, 0 bytes", r.stdout
        s3.delete_bucket(Bucket=bucket)

    missing = s3gw("zones", "ls", ZONE, "s3gw-" + "0" * 40, "--config", hung_gw.config)
    assert missing.returncode == 0 and missing.stdout.splitlines()[-1] == "total: 0 blobs, 0 bytes"
    unknown = s3gw("zones", "ls", "xx-nowhere", "--config", hung_gw.config)
    assert unknown.returncode == 1 and "zone xx-nowhere is not configured" in unknown.stderr

    # Reading a hung zone fails within its bound, naming it, instead of hanging the command.
    with hung(provider):
        with within(BOUND + SLACK, "s3gw zones ls on the hung zone"):
            r = s3gw("zones", "ls", ZONE, "--config", hung_gw.config)
    assert r.returncode == 1
    assert f"zone {ZONE}: no response headers within 2 s" in r.stderr, r.stderr


def test_a_multipart_upload_the_provider_created_too_late_is_swept(hung_gw, provider):
    """CreateMultipartUpload to a hung provider: the client gets 503, yet once the provider
    continues it creates the upload, which nothing in metadata names. `s3gw zones sweep-uploads`
    (what the agent runs after each multipart expiry) aborts it, and only it: a client's open
    upload in the same backend bucket stays and still completes."""
    wait_for_state(hung_gw, "healthy", 20)
    s3 = client(hung_gw)
    bucket = new_bucket_name("stray")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    backend = backend_bucket(hung_gw, bucket)
    moto = provider.client()
    owned = s3.create_multipart_upload(Bucket=bucket, Key="open")["UploadId"]
    part = os.urandom(5 * MIB)
    etag = s3.upload_part(Bucket=bucket, Key="open", UploadId=owned, PartNumber=1, Body=part)["ETag"]
    [mine] = moto.list_multipart_uploads(Bucket=backend).get("Uploads", [])

    with hung(provider):
        with within(BOUND + SLACK, "CreateMultipartUpload"), pytest.raises(ClientError) as e:
            s3.create_multipart_upload(Bucket=bucket, Key="late")
        assert s3_status(e.value) == (503, "ServiceUnavailable")

    def provider_created_it():
        uploads = moto.list_multipart_uploads(Bucket=backend).get("Uploads", [])
        if len(uploads) < 2:
            raise NotYet(uploads)
        return uploads

    held = wait_until(provider_created_it, 20, "the provider to carry out the late CreateMultipartUpload")
    # (Once, or twice if the gateway retried the create: each is a stray upload.)
    strays = len(held) - 1
    # The gateway knows only the client's upload.
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [owned]

    time.sleep(1.1)  # the provider dates uploads to the second; the cutoff is "now"
    r = s3gw("zones", "sweep-uploads", "--older-than", "0", "--config", hung_gw.config)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"aborted {strays} stray zone upload(s)", r.stdout + r.stderr
    left = moto.list_multipart_uploads(Bucket=backend).get("Uploads", [])
    assert [u["UploadId"] for u in left] == [mine["UploadId"]], (held, left)
    again = s3gw("zones", "sweep-uploads", "--older-than", "0", "--config", hung_gw.config)
    assert again.stdout.strip() == "aborted 0 stray zone upload(s)", again.stdout

    s3.complete_multipart_upload(Bucket=bucket, Key="open", UploadId=owned,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="open")["Body"].read() == part
    assert moto.list_multipart_uploads(Bucket=backend).get("Uploads", []) == []
