"""Discovery end to end: a moto_server stands for an existing S3 account (IAM enforced, so a
bucket the pasted credentials may not read really answers AccessDenied, and signatures and the
session token are really checked). Through the gateway's /api/discovery/ API, signed with a
gateway credential that holds only discovery permissions: start, progress, cancel, the summary's
counts per bucket, the snapshot against docs/snapshot.schema.json, downloads (.json, .json.gz),
delete, the endpoint allow-list refusing without a connection, a credential without the
permission refused, `s3gw snapshots` on the host. At the end every file of the state directory,
the gateway's and nginx's logs and every API answer are searched for the pasted secret key and
session token: none may hold them."""

import gzip
import hashlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests
import yaml
from botocore.config import Config
from jsonschema import Draft202012Validator, FormatChecker

from admin_api import SigV4, admin
from conftest import ROOT, Moto, Stack, s3gw_bin, spawn_server, wait_until

SNAPSHOT_SCHEMA = json.loads((ROOT / "docs" / "snapshot.schema.json").read_text())
snapshot_validator = Draft202012Validator(SNAPSHOT_SCHEMA, format_checker=FormatChecker())
WEB_API = yaml.safe_load((ROOT / "docs" / "web-api.yaml").read_text())

# What the source account holds. The first bucket is large (several listing pages), so a job
# is surely running for a while when the test acts on it.
BIG, SMALL, VERSIONED, LOCKED, EMPTY = "aaa-big", "small-bucket", "versioned-bucket", "locked-bucket", "empty-bucket"
CLASSES = ["STANDARD", "STANDARD_IA", "GLACIER", "REDUCED_REDUNDANCY", "ONEZONE_IA"]
# Requests moto serves before it enforces IAM: the three that make the account's administrator.
NO_AUTH_REQUESTS = 3


class IAMMoto(Moto):
    """A moto_server that authenticates and authorizes every request after the first few."""

    def _start(self, port: int) -> int:
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(NO_AUTH_REQUESTS))
        self.proc = spawn_server(["moto_server", "-H", "127.0.0.1", "-p", port], self.log, [port], self.name, env=env)
        return port

    def boto(self, service: str, key: dict):
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                            aws_session_token=key.get("SessionToken"),
                            config=Config(retries={"max_attempts": 2, "mode": "standard"},
                                          max_pool_connections=32, s3={"addressing_style": "path"}))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fill(moto: IAMMoto) -> tuple[dict, dict]:
    """The account: an administrator (made in moto's unauthenticated requests), the buckets and
    objects, and the temporary credentials a person would paste: an assumed role that may read
    everything but the locked bucket. Returns those credentials and what each bucket holds as
    ListObjectsV2 sees it."""
    iam = moto.boto("iam", {"AccessKeyId": "bootstrap", "SecretAccessKey": "bootstrap"})
    iam.create_user(UserName="owner")
    owner = iam.create_access_key(UserName="owner")["AccessKey"]
    iam.put_user_policy(UserName="owner", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    s3 = moto.boto("s3", owner)
    for b in (BIG, SMALL, VERSIONED, LOCKED, EMPTY):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})

    rng = random.Random(10)
    puts = []
    for i in range(3600):
        size = 0 if i % 11 == 0 else (300_000 if i % 997 == 0 else rng.randint(1, 4000))
        prefix = ["logs/2024/", "logs/2025/", "img/raw/", "img/thumbs/", "", "docs/"][i % 6]
        puts.append((BIG, f"{prefix}obj-{i:05d}", size, CLASSES[i % len(CLASSES)]))
    for i in range(250):
        puts.append((SMALL, f"part-{i:04d}.csv", rng.randint(0, 20000), "STANDARD"))
    for i in range(40):
        puts.append((VERSIONED, f"doc-{i}.txt", 100 + i, "STANDARD"))
    for i in range(15):
        puts.append((LOCKED, f"secret-{i}.bin", 1000, "STANDARD"))

    def put(p):
        bucket, key, size, storage_class = p
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size), StorageClass=storage_class)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, puts))
    # Second versions: ListObjectsV2 shows only the current ones.
    for i in range(40):
        s3.put_object(Bucket=VERSIONED, Key=f"doc-{i}.txt", Body=b"v2" * (i + 1))

    expected = {}
    for b in (BIG, SMALL, VERSIONED, LOCKED, EMPTY):
        objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b) for o in page.get("Contents", [])]
        classes = {}
        for o in objects:
            c = classes.setdefault(o.get("StorageClass", "STANDARD"), [0, 0])
            c[0] += 1
            c[1] += o["Size"]
        expected[b] = {"objects": len(objects), "bytes": sum(o["Size"] for o in objects), "classes": classes}
    assert expected[BIG]["objects"] == 3600 and expected[VERSIONED]["objects"] == 40

    iam = moto.boto("iam", owner)
    iam.create_role(RoleName="discoverer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="discoverer", PolicyName="read-but-locked", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{LOCKED}", f"arn:aws:s3:::{LOCKED}/*"]},
        ]}))
    pasted = moto.boto("sts", owner).assume_role(
        RoleArn="arn:aws:iam::123456789012:role/discoverer", RoleSessionName="discovery")["Credentials"]
    # The role really may not read the locked bucket, and may read the others.
    role_s3 = moto.boto("s3", pasted)
    with pytest.raises(Exception, match="AccessDenied"):
        role_s3.list_objects_v2(Bucket=LOCKED)
    assert role_s3.list_objects_v2(Bucket=SMALL, MaxKeys=1)["KeyCount"] == 1
    return pasted, expected


class ConnectionRecorder:
    """A TCP listener that records every connection made to it (and answers none)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def world():
    moto = IAMMoto("moto-discovery")
    recorder = ConnectionRecorder()
    stack = None
    try:
        pasted, expected = fill(moto)
        stack = Stack("discovery", extra=f"""
[discovery]
endpoints = ["{moto.url}"]
max_jobs = 2
drain_timeout = 0
""").start()
        # The gateway credential: a user of tenant acme holding only the discovery permissions.
        assert admin(stack, "POST", "tenants", {"id": "acme"}).status_code == 201
        for name, permissions in (("finder", {"discovery:*": ["acme"]}), ("plain", {"s3:*": ["*"]})):
            r = admin(stack, "POST", "tenants/acme/users", {"name": name, "permissions": permissions})
            assert r.status_code == 201, r.text
        keys = {}
        for name in ("finder", "plain"):
            r = admin(stack, "POST", f"tenants/acme/users/{name}/credentials")
            assert r.status_code == 201, r.text
            keys[name] = r.json()
        yield {"moto": moto, "stack": stack, "pasted": pasted, "expected": expected, "keys": keys,
               "recorder": recorder, "answers": []}
    finally:
        recorder.close()
        if stack:
            stack.stop()
            stack.cleanup()
        moto.cleanup()


def api(world, method: str, path: str, body=None, who: str = "finder", raw: bool = False) -> requests.Response:
    """One signed call to /api/ as a gateway user; every answer is kept for the final search."""
    key = world["keys"][who]
    data = json.dumps(body).encode() if body is not None else b""
    r = requests.request(method, world["stack"].http_url + "/api/" + path, data=data,
                         headers={"Content-Type": "application/json"} if data else {},
                         auth=SigV4(key["access_key"], key["secret_key"]), timeout=60)
    world["answers"].append(r.content if raw else r.text.encode() + str(dict(r.headers)).encode())
    return r


def documented(name: str, value) -> None:
    """`value` is what docs/web-api.yaml's schema `name` says."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": WEB_API["components"]}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
    assert errors == [], f"{name}: {errors}"


def start_body(world, **change) -> dict:
    p = world["pasted"]
    body = {"endpoint": world["moto"].url, "region": "us-east-1", "access_key_id": p["AccessKeyId"],
            "secret_access_key": p["SecretAccessKey"], "session_token": p["SessionToken"],
            "sanitization": "full", "prefix_depth": 2}
    body.update(change)
    return body


def start(world, **change) -> dict:
    r = api(world, "POST", "discovery/jobs", start_body(world, **change))
    assert r.status_code == 202, r.text
    documented("Job", r.json())
    return r.json()


def job(world, job_id: str) -> dict:
    r = api(world, "GET", f"discovery/jobs/{job_id}")
    assert r.status_code == 200, r.text
    documented("Job", r.json())
    return r.json()


@pytest.fixture(scope="module")
def finished(world):
    """The first discovery, run to the end; the progress values seen while it ran."""
    j = start(world)
    seen = []

    def done():
        now = job(world, j["id"])
        if now["state"] == "running":
            seen.append((now["objects"], now["buckets_done"], now["current_bucket"]))
            return False
        return now

    final = wait_until(done, 300, "the discovery to finish", detail=world["stack"].log_tail, interval=0.05)
    return {"job": final, "seen": seen}


def test_a_discovery_runs_to_the_end_with_moving_progress(world, finished):
    final = finished["job"]
    assert final["state"] == "done", final
    assert final["error"] is None and final["snapshot_id"] == final["id"]
    assert final["buckets_total"] == final["buckets_done"] == 5
    total = sum(e["objects"] for e in world["expected"].values() if e is not world["expected"][LOCKED])
    assert final["objects"] == total
    assert final["endpoint_host"] == f"127.0.0.1:{world['moto'].port}"
    counts = [s[0] for s in finished["seen"]]
    assert len(set(counts)) >= 3, f"progress did not move while running: {finished['seen']}"
    assert counts == sorted(counts)
    assert any(0 < c < total for c in counts)
    assert {s[2] for s in finished["seen"]} >= {BIG}


def test_the_summary_has_each_buckets_counts_and_statuses(world, finished):
    sid = finished["job"]["snapshot_id"]
    r = api(world, "GET", f"discovery/snapshots/{sid}")
    assert r.status_code == 200, r.text
    documented("SnapshotSummary", r.json())
    buckets = {b["name"]: b for b in r.json()["buckets"]}
    assert sorted(buckets) == sorted([BIG, SMALL, VERSIONED, LOCKED, EMPTY])
    for name, e in world["expected"].items():
        b = buckets[name]
        assert "objects" not in b
        if name == LOCKED:
            assert b["listing"] == "access_denied"
            # GetBucketLocation is denied; a HEAD's x-amz-bucket-region still names it.
            assert b["region"] == "us-east-1"
            assert set(b["statuses"].values()) == {"unknown"}, b["statuses"]
            assert b["summary"]["object_count"] == 0
            continue
        assert b["listing"] == "complete", name
        assert b["region"] == "us-east-1"
        assert b["summary"]["object_count"] == e["objects"], name
        assert b["summary"]["total_bytes"] == e["bytes"], name
        got = {c["storage_class"]: [c["objects"], c["bytes"]] for c in b["summary"]["storage_classes"]}
        assert got == e["classes"], name
        assert sum(h["objects"] for h in b["summary"]["size_histogram"]) == e["objects"]
    assert buckets[VERSIONED]["statuses"]["versioning"] == "enabled"
    assert buckets[BIG]["statuses"]["versioning"] == "disabled"
    assert {p["prefix"] for p in buckets[BIG]["summary"]["top_prefixes"]} >= {"logs/2024/", "img/raw/", ""}

    listed = api(world, "GET", "discovery/snapshots").json()
    documented("SnapshotList", listed)
    mine = [s for s in listed["snapshots"] if s["id"] == sid]
    assert mine and mine[0]["objects"] == finished["job"]["objects"] and mine[0]["buckets"] == 5
    jobs = api(world, "GET", "discovery/jobs").json()
    documented("JobList", jobs)
    assert sid in [j["id"] for j in jobs["jobs"]]


def test_downloads_validate_and_match_the_stored_file(world, finished):
    sid = finished["job"]["snapshot_id"]
    stored = (world["stack"].state_dir / "snapshots" / "acme" / f"{sid}.json").read_bytes()
    r = api(world, "GET", f"discovery/snapshots/{sid}/download?format=json", raw=True)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f'attachment; filename="snapshot-{sid}.json"'
    assert r.content == stored
    doc = json.loads(r.content)
    assert [e.message for e in snapshot_validator.iter_errors(doc)] == []
    big = next(b for b in doc["buckets"] if b["name"] == BIG)
    assert len(big["objects"]) == 3600
    assert {o["key"] for o in big["objects"]} >= {"logs/2024/obj-00000", "img/raw/obj-00002"}

    gz = api(world, "GET", f"discovery/snapshots/{sid}/download?format=json.gz", raw=True)
    assert gz.status_code == 200
    assert gz.headers["Content-Type"] == "application/gzip"
    # requests would undo a Content-Encoding; the gzip file is the body itself.
    assert gz.content[:2] == b"\x1f\x8b"
    assert gzip.decompress(gz.content) == stored

    mode = os.stat(world["stack"].state_dir / "snapshots" / "acme" / f"{sid}.json").st_mode & 0o777
    assert mode == 0o600
    assert os.stat(world["stack"].state_dir / "snapshots" / "acme").st_mode & 0o777 == 0o700


def test_cancel_stops_a_second_job_which_can_then_be_deleted(world, finished):
    j = start(world, sanitization="hashed")
    wait_until(lambda: job(world, j["id"])["objects"] >= 1000, 120, "the second job to list a page",
               detail=world["stack"].log_tail, interval=0.05)
    r = api(world, "POST", f"discovery/jobs/{j['id']}/cancel")
    assert r.status_code == 202, r.text
    assert r.json()["cancel_requested"] is True
    ended = wait_until(lambda: (lambda s: s if s["state"] != "running" else None)(job(world, j["id"])), 60,
                       "the cancel to take effect")
    assert ended["state"] == "cancelled", ended
    assert ended["objects"] < finished["job"]["objects"]
    sid = ended["snapshot_id"]
    doc = json.loads(api(world, "GET", f"discovery/snapshots/{sid}/download", raw=True).content)
    assert [e.message for e in snapshot_validator.iter_errors(doc)] == []
    assert doc["snapshot"]["sanitization"] == "hashed"
    assert doc["buckets"][0]["name"] == BIG and doc["buckets"][0]["listing"] == "incomplete"
    assert all(len(o["key"]) == 64 for o in doc["buckets"][0]["objects"])

    assert api(world, "DELETE", f"discovery/snapshots/{sid}").status_code == 204
    assert not (world["stack"].state_dir / "snapshots" / "acme" / f"{sid}.json").exists()
    assert api(world, "GET", f"discovery/snapshots/{sid}").status_code == 404
    assert api(world, "GET", f"discovery/jobs/{sid}").status_code == 404


def test_an_endpoint_outside_the_allow_list_is_refused_without_a_connection(world):
    recorder = world["recorder"]
    for endpoint in (f"http://127.0.0.1:{recorder.port}", f"http://localhost:{world['moto'].port}",
                     f"http://{world['pasted']['AccessKeyId']}:{world['pasted']['SecretAccessKey']}@127.0.0.1:{recorder.port}"):
        r = api(world, "POST", "discovery/jobs", start_body(world, endpoint=endpoint))
        assert r.status_code == 400, r.text
        documented("Error", r.json())
        assert r.json()["error"]["code"] == "EndpointNotAllowed"
    time.sleep(1)  # a connection attempt, had one been made, would have arrived by now
    assert recorder.connections == 0


def test_a_credential_without_the_permission_is_refused(world):
    for path, method in (("discovery/jobs", "POST"), ("discovery/jobs", "GET"), ("discovery/snapshots", "GET")):
        r = api(world, method, path, start_body(world) if method == "POST" else None, who="plain")
        assert r.status_code == 403, r.text
        documented("Error", r.json())
        assert r.json()["error"]["code"] == "AccessDenied"
    # Unsigned: refused too.
    r = requests.get(world["stack"].http_url + "/api/discovery/snapshots", timeout=10)
    assert r.status_code == 403


def test_the_command_line_lists_shows_and_downloads(world, finished, tmp_path):
    sid = finished["job"]["snapshot_id"]
    config = str(world["stack"].config)
    env = dict(os.environ)

    def s3gw(*args):
        r = subprocess.run([str(s3gw_bin()), "snapshots", *args, "-c", config, "--tenant", "acme"],
                           capture_output=True, text=True, timeout=120, env=env)
        world["answers"].append((r.stdout + r.stderr).encode())
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert sid in s3gw("list")
    shown = s3gw("show", sid)
    assert LOCKED in shown and "access_denied" in shown
    out = tmp_path / "snap.json.gz"
    s3gw("download", sid, "--gz", "-o", str(out))
    stored = (world["stack"].state_dir / "snapshots" / "acme" / f"{sid}.json").read_bytes()
    assert gzip.decompress(out.read_bytes()) == stored
    # And remotely, with the discovery credential.
    key = world["keys"]["finder"]
    r = subprocess.run([str(s3gw_bin()), "snapshots", "download", sid, "-o", str(tmp_path / "remote.json"),
                        "--endpoint", world["stack"].http_url, "--access-key", key["access_key"],
                        "--secret-key", key["secret_key"]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "remote.json").read_bytes() == stored


def test_no_process_holding_pasted_secrets_can_dump_core(world, finished):
    """Workers (which run the jobs) and the agent start with no core size: a crash writes no
    pasted credential to disk."""
    stack = world["stack"]
    pids = stack.all_children()
    assert stack.worker_pids() and len(pids) > len(stack.worker_pids()), "workers and the agent"
    for pid in pids:
        limits = Path(f"/proc/{pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], (pid, core)


def test_a_stop_interrupts_a_running_discovery_after_its_drain_timeout(world, finished):
    """Stops the module's gateway: the last test but the search, which only reads files."""
    j = start(world)
    wait_until(lambda: job(world, j["id"])["current_bucket"] == BIG, 60, "the job to list")
    began = time.monotonic()
    status = world["stack"].stop()
    assert time.monotonic() - began < 25, "a stop waits drain_timeout (0 here) and a page, not the whole job"
    assert status["gateway"] == 0 and status["leftover_children"] == [], status
    db = sqlite3.connect(world["stack"].state_dir / "metadata.sqlite")
    state, has_snapshot, error = db.execute(
        "SELECT state, has_snapshot, error FROM discovery_jobs WHERE id = ?", (j["id"],)).fetchone()
    db.close()
    assert state == "interrupted", (state, error)
    assert has_snapshot == 1 and "stopped" in error
    doc = json.loads((world["stack"].state_dir / "snapshots" / "acme" / f"{j['id']}.json").read_text())
    assert [e.message for e in snapshot_validator.iter_errors(doc)] == []
    assert doc["buckets"][0]["listing"] == "incomplete" and len(doc["buckets"]) == 5
    assert not list((world["stack"].state_dir / "snapshots").rglob("*.partial"))


def test_no_pasted_secret_anywhere(world, finished):
    """Runs last (file order): everything the gateway wrote or said."""
    secrets = [world["pasted"]["SecretAccessKey"].encode(), world["pasted"]["SessionToken"].encode()]
    stack = world["stack"]
    files = [p for p in stack.state_dir.rglob("*") if p.is_file()]
    files += [p for p in Path(stack.nginx_prefix).rglob("*") if p.is_file() and p.suffix in (".log", ".out")]
    files.append(stack.gateway_log)
    names = {p.name for p in files}
    assert "metadata.sqlite" in names and "access.log" in names and stack.gateway_log.exists()
    assert any(n.endswith(".summary.json") for n in names)
    checked = 0
    for path in files:
        data = path.read_bytes()
        checked += len(data)
        for s in secrets:
            assert s not in data, f"{path} holds a pasted credential"
    for answer in world["answers"]:
        for s in secrets:
            assert s not in answer, "an API answer holds a pasted credential"
    # The pasted access key id is no secret, and the gateway did log its work.
    assert b"discovery" in stack.gateway_log.read_bytes()
    assert checked > 0 and len(world["answers"]) > 20
