"""SIGKILL of the agent in the middle of a replica copy: the job is not lost (it stays in the
queue, held by the dead agent's lease until it expires), the supervisor respawns the agent and
removes the dead one's temporary file, the new agent takes the job over and completes it, the copy
verifies byte for byte, and no zone keeps garbage (tmp/ files or orphan blobs).

The issue names a 1 GiB object; the default here is 300 MiB so `make test` stays fast, copied at
50 MB/s ([replication] zone_rate_mb) so the kill lands mid-copy. S3GW_AGENT_KILL_MIB=1024 runs the
issue's size."""

import hashlib
import json
import os
import signal
import subprocess

import pytest

from conftest import NotYet, Stack, filesystem_zone, new_bucket_name, proc_cmdline, s3_client, s3gw_bin, wait_until

MIB = 1024 * 1024
SIZE = int(os.environ.get("S3GW_AGENT_KILL_MIB", "300")) * MIB
LEASE = 5


@pytest.fixture(scope="module")
def gw():
    zones = f"""{filesystem_zone("local-2", "se", "se-got", "{tmp}/zones/local-2")}
[replication]
workers = 2
lease = {LEASE}
zone_rate_mb = 50
retry_base = 1
"""
    stack = Stack("agent-kill", workers=2)
    stack.extra = zones.replace("{tmp}", str(stack.tmp))
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


def agent_pid(stack):
    return next((p for p in stack.all_children() if "agent" in proc_cmdline(p)[1:3]), None)


def cli(gw, *args):
    r = subprocess.run([str(s3gw_bin()), *args, "--config", str(gw.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def blobs(gw, zone):
    root = gw.tmp / "zones" / zone / "buckets"
    return sorted(p for p in root.rglob("*") if p.is_file())


def tmp_files(gw, zone):
    return sorted((gw.tmp / "zones" / zone / "tmp").glob("*"))


def file_md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MIB):
            h.update(chunk)
    return h.hexdigest()


def test_agent_killed_mid_copy_loses_no_job_and_leaves_no_garbage(gw, tmp_path):
    s3 = s3_client(gw, read_timeout=300)
    bucket = new_bucket_name("kill")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    src = tmp_path / "big.bin"
    digest = hashlib.md5()
    with open(src, "wb") as f:
        for _ in range(SIZE // (8 * MIB)):
            chunk = os.urandom(8 * MIB)
            digest.update(chunk)
            f.write(chunk)
    want = digest.hexdigest()
    with open(src, "rb") as f:
        s3.put_object(Bucket=bucket, Key="big", Body=f)
    src.unlink()
    assert [file_md5(p) for p in blobs(gw, "local-1")] == [want]

    # A second copy wanted: the agent starts copying into local-2 at 50 MB/s.
    first = agent_pid(gw)
    assert first, gw.log_tail()
    s3.put_object_tagging(Bucket=bucket, Key="big", Tagging={"TagSet": [{"Key": "replica-count", "Value": "2"}]})

    def copying():
        files = [p for p in tmp_files(gw, "local-2") if p.name.split("@")[-1].startswith(f"{first}-")]  # <host id>@<pid>-<id>
        if not files:
            raise NotYet("no temporary file of the agent in local-2/tmp yet")
        size = files[0].stat().st_size
        if size < SIZE // 10:
            raise NotYet(f"{size} bytes copied")
        return files[0], size

    temp, copied = wait_until(copying, 60, "the agent to be copying into local-2", gw.log_tail, interval=0.05)
    os.kill(first, signal.SIGKILL)
    assert copied < SIZE, f"the copy had finished ({copied} bytes) before the kill"
    print(f"\nagent {first} killed with {copied // MIB} of {SIZE // MIB} MiB copied")

    second = wait_until(lambda: agent_pid(gw) not in (None, first) and agent_pid(gw), 20,
                        f"the supervisor to respawn the killed agent {first}", gw.log_tail)
    # The dead agent's temporary file goes with it (the supervisor removes a dead child's tmp/).
    wait_until(lambda: not temp.exists(), 20, f"{temp.name} to be removed", gw.log_tail)
    # The job is still there: held by the dead agent's lease, then taken over.
    status = json.loads(cli(gw, "replication", "status", bucket, "big", "--json"))
    assert [(j["kind"], j["zone"]) for j in status["jobs"]] == [("replicate", "local-2")], status
    assert status["jobs"][0]["state"] in ("running", "pending"), status

    def completed():
        h = s3.head_object(Bucket=bucket, Key="big")["ResponseMetadata"]["HTTPHeaders"]
        return h.get("x-amz-replication-status") == "COMPLETED" and h

    h = wait_until(completed, LEASE + 90, "the replica to complete after the takeover", gw.log_tail, interval=0.5)
    assert h["x-s3gw-replicas"] == "local-1=primary,local-2=completed", h
    status = json.loads(cli(gw, "replication", "status", bucket, "big", "--json"))
    assert status["jobs"] == [] and status["queue"]["dead"] == 0, status
    assert status["objects"][0]["copies"] == [{"zone": "local-1", "state": "primary"},
                                              {"zone": "local-2", "state": "completed"}]
    assert agent_pid(gw) == second, "the new agent died too"

    # The copy verifies: one blob in each zone, the source's bytes; nothing left in tmp/.
    assert [file_md5(p) for p in blobs(gw, "local-2")] == [want]
    assert [file_md5(p) for p in blobs(gw, "local-1")] == [want]
    wait_until(lambda: not tmp_files(gw, "local-1") + tmp_files(gw, "local-2"), 10, "tmp/ to be empty",
               lambda: str(tmp_files(gw, "local-1") + tmp_files(gw, "local-2")))
    got = hashlib.md5()
    for chunk in s3.get_object(Bucket=bucket, Key="big")["Body"].iter_chunks(8 * MIB):
        got.update(chunk)
    assert got.hexdigest() == want

    s3.delete_object(Bucket=bucket, Key="big")
    wait_until(lambda: not blobs(gw, "local-1") + blobs(gw, "local-2"), 30, "both copies to be removed",
               gw.log_tail)
    s3.delete_bucket(Bucket=bucket)
