"""The agent process: spawned and respawned by the supervisor; expires abandoned uploads."""

import os
import signal

import pytest

from conftest import Stack, new_bucket_name, proc_cmdline, s3_client, wait_until


@pytest.fixture(scope="module")
def expiring_gw():
    stack = Stack("agent", workers=1, storage_extra="multipart_expiry = 2\ncleanup_interval = 1").start()
    yield stack
    stack.stop()
    stack.cleanup()


def agent_pid(stack):
    return next((p for p in stack.all_children() if "agent" in proc_cmdline(p)[1:3]), None)


def test_abandoned_upload_expires_with_its_parts(expiring_gw):
    gw = expiring_gw
    s3 = s3_client(gw)
    bucket = new_bucket_name("expire")
    s3.create_bucket(Bucket=bucket)
    before = {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}
    up = s3.create_multipart_upload(Bucket=bucket, Key="left-behind")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="left-behind", UploadId=up, PartNumber=1, Body=os.urandom(1 << 20))
    assert {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()} - before
    wait_until(lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), 30,
               "the agent to abort the abandoned upload (expiry 2 s, cleanup every 1 s)", detail=gw.log_tail,
               interval=0.5)
    assert {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()} == before
    assert "aborted 1 multipart uploads" in gw.log_tail(200)
    s3.delete_bucket(Bucket=bucket)


def test_killed_agent_is_respawned(expiring_gw):
    gw = expiring_gw
    first = agent_pid(gw)
    assert first, gw.log_tail()
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: agent_pid(gw) not in (None, first), 20, f"a new agent to replace the killed one ({first})",
               detail=gw.log_tail)
    assert gw.gateway.poll() is None
