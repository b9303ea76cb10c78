"""Continuous backup of the SQLite metadata store and `s3gw metadata restore`
(docs/METADATA.md, "Backup and restore (SQLite)"): a real gateway behind nginx ships its store to a
bucket of a filesystem zone or of a provider zone (moto); its host is then lost (SIGKILL of the
process group, state directory deleted, zones kept) and the store is rebuilt from the bucket."""

import hashlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from conftest import (Moto, NotYet, Stack, filesystem_zone, new_bucket_name, provider_zone, s3_client, s3gw_bin,
                      stop_process, wait_until)

BUCKET = "s3gw-metadata-backups"


@pytest.fixture(params=["filesystem", "provider"])
def backed_up(request):
    """A started stack whose [backup] goes to the zone `backup` (a directory, or moto)."""
    moto = Moto("moto-backup") if request.param == "provider" else None
    s = Stack("backup")
    if moto:
        zone = provider_zone("backup", "se", "se-sto", moto.port)
    else:
        zone = filesystem_zone("backup", "se", "se-sto", s.tmp / "zones" / "backup")
    # A small checkpoint threshold: the WAL is checkpointed and restarts several times.
    s.extra = zone + f"""
[backup]
zone = "backup"
bucket = "{BUCKET}"
wal_interval = 0.5
checkpoint_bytes = 65536
"""
    # The master key lives outside the state directory (as an operator keeps it, docs/METADATA.md):
    # the restored store's sealed secrets open with it on the new host.
    previous = os.environ.get("S3GW_MASTER_KEY")
    os.environ["S3GW_MASTER_KEY"] = secrets.token_hex(32)
    try:
        s.start()
        s.moto = moto
        yield s
    finally:
        s.stop()
        s.cleanup()
        if moto:
            moto.cleanup()
        if previous is None:
            os.environ.pop("S3GW_MASTER_KEY", None)
        else:
            os.environ["S3GW_MASTER_KEY"] = previous


def cli(s: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([str(s3gw_bin()), "metadata", *args, "-c", str(s.config), "--zone", "backup"],
                       capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"s3gw metadata {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def restorable_until(s: Stack) -> float:
    """The time the newest generation reaches, from `s3gw metadata backups`."""
    r = cli(s, "backups", check=False)
    if r.returncode != 0:
        raise NotYet(r.stderr.strip())
    rows = [line.split() for line in r.stdout.splitlines()[2:] if " ok " in line]
    if not rows:
        raise NotYet(r.stdout)
    stamp = rows[-1][-1]
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def wait_shipped(s: Stack, since: float, timeout: float = 30) -> None:
    """Until a segment read after `since` is in the bucket (every transaction before it is)."""
    def shipped():
        until = restorable_until(s)
        if until <= since:
            raise NotYet(f"restorable until {until}, waiting for {since}")
        return True
    wait_until(shipped, timeout, "the backup to ship the last writes", detail=s.log_tail)


def integrity(s: Stack) -> str:
    db = sqlite3.connect(f"file:{s.state_dir / 'metadata.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def zone_objects(s: Stack) -> dict[str, bytes]:
    """Every object the backup zone holds, read straight from its directory or from moto."""
    if s.moto:
        m = s.moto.client()
        out = {}
        for page in m.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for o in page.get("Contents", []):
                out[o["Key"]] = m.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        return out
    root = s.tmp / "zones" / "backup"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def lose_host(s: Stack) -> None:
    """SIGKILL of the gateway's process group (supervisor, workers, agent), nginx stopped, the
    state directory deleted; the zones stay."""
    os.killpg(s.gateway.pid, signal.SIGKILL)
    s.gateway.wait(timeout=10)
    stop_process(s.nginx)
    s.gateway = s.nginx = None
    time.sleep(0.2)
    shutil.rmtree(s.state_dir)


def test_restore_after_losing_the_host_and_to_a_point_before_a_delete(backed_up):
    s = backed_up
    c = s3_client(s)
    bucket = new_bucket_name("bk")
    c.create_bucket(Bucket=bucket)
    acknowledged: dict[str, str] = {}

    # A concurrent write load while the backup ships and checkpoints: no write may fail.
    failures: list[str] = []
    stop = threading.Event()

    def load():
        lc = s3_client(s)
        i = 0
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline and i < 2000:
            key = f"load/{i:05d}"
            body = os.urandom(200 + i % 3000)
            try:
                lc.put_object(Bucket=bucket, Key=key, Body=body)
                acknowledged[key] = hashlib.md5(body).hexdigest()
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failures.append(f"{key}: {e!r}")
            i += 1

    loader = threading.Thread(target=load)
    loader.start()
    try:
        for i in range(30):
            body = os.urandom(1000 + i * 37)
            c.put_object(Bucket=bucket, Key=f"obj/{i:03d}", Body=body)
            acknowledged[f"obj/{i:03d}"] = hashlib.md5(body).hexdigest()
        part = os.urandom(5 * 1024 * 1024)
        mpu = c.create_multipart_upload(Bucket=bucket, Key="multi/big")
        etags = [c.upload_part(Bucket=bucket, Key="multi/big", UploadId=mpu["UploadId"], PartNumber=n,
                               Body=part)["ETag"] for n in (1, 2)]
        c.complete_multipart_upload(Bucket=bucket, Key="multi/big", UploadId=mpu["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
        acknowledged["multi/big"] = hashlib.md5(part + part).hexdigest()
        time.sleep(2)  # several WAL rounds (and checkpoints) under load
        assert integrity(s) == "ok"
    finally:
        stop.set()
        loader.join(timeout=120)
    assert not failures, failures[:5]
    assert len(acknowledged) > 40

    # A reload replaces the agent: the new one goes on with the generation (no new snapshot).
    os.kill(s.gateway.pid, signal.SIGHUP)
    wait_until(lambda: "goes on" in s.gateway_log.read_text(), 60, "the new agent to go on with the generation",
               detail=s.log_tail)
    for i in range(30, 40):
        body = os.urandom(500 + i)
        c.put_object(Bucket=bucket, Key=f"obj/{i:03d}", Body=body)
        acknowledged[f"obj/{i:03d}"] = hashlib.md5(body).hexdigest()

    doomed = "obj/007"
    c.head_object(Bucket=bucket, Key=doomed)
    time.sleep(1.2)
    before_delete = time.time()
    time.sleep(1.2)
    c.delete_object(Bucket=bucket, Key=doomed)
    del acknowledged[doomed]
    last_write = time.time()
    wait_shipped(s, last_write)
    assert integrity(s) == "ok"

    # The zone holds only ciphertext: no bucket name, object key or SQLite header in any object.
    stored = zone_objects(s)
    assert sum(1 for name in stored if "/wal/" in name) > 3, list(stored)[:10]
    for name, body in stored.items():
        for marker in (bucket.encode(), b"multi/big", b"obj/007", b"SQLite format 3"):
            assert marker not in body, f"{marker!r} in {name}"

    lose_host(s)
    # The store comes back from the zone alone.
    out = cli(s, "restore").stdout
    assert "restored" in out, out
    assert (s.state_dir / "metadata.sqlite").exists()
    assert (s.state_dir / "installation-id").exists()
    # An existing store is not overwritten without --force.
    again = cli(s, "restore", check=False)
    assert again.returncode == 1 and "--force" in again.stderr

    s.start()
    c = s3_client(s)
    listed = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            listed[o["Key"]] = o["Size"]
    assert set(listed) == set(acknowledged)
    for key, md5 in acknowledged.items():
        if key.startswith("load/") and int(hashlib.md5(key.encode()).hexdigest(), 16) % 8:
            continue  # a sample of the load, every object of the rest
        body = c.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == md5, key
    # The new host backs up again, under the same installation.
    c.put_object(Bucket=bucket, Key="after-restore", Body=b"x")
    wait_shipped(s, time.time())
    rows = cli(s, "backups").stdout
    assert rows.count(" ok ") >= 2, rows

    # A point in time before the delete: the object's metadata is back.
    s.stop()
    pitr = cli(s, "restore", "--at", str(before_delete), "--force").stdout
    assert "restored" in pitr, pitr
    s.start()
    c = s3_client(s)
    keys = {o["Key"] for o in c.list_objects_v2(Bucket=bucket, Prefix="obj/")["Contents"]}
    assert doomed in keys
    assert c.head_object(Bucket=bucket, Key=doomed)["ContentLength"] == 1000 + 7 * 37
    assert "after-restore" not in {o["Key"] for o in c.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_refusals(tmp_path):
    """No backup before --at, an unknown installation, and [backup] with PostgreSQL."""
    s = Stack("backup-refusals")
    s.extra = filesystem_zone("backup", "se", "se-sto", s.tmp / "zones" / "backup") + f"""
[backup]
zone = "backup"
bucket = "{BUCKET}"
wal_interval = 0.5
"""
    try:
        s.start()
        wait_shipped(s, 0)
        assert cli(s, "restore", "--at", "2001-01-01T00:00:00Z", "--to", str(tmp_path / "x.sqlite"),
                   check=False).stderr.count("no complete snapshot") == 1
        r = cli(s, "restore", "--installation", "00000000-0000-4000-8000-000000000000", "--to",
                str(tmp_path / "y.sqlite"), check=False)
        assert r.returncode == 1 and "no backups of installation" in r.stderr
        # The running gateway's store is not replaced, --force or not.
        r = cli(s, "restore", "--force", check=False)
        assert r.returncode == 1 and "open in another process" in r.stderr, r.stderr
        # A restore elsewhere leaves the host's identity alone and needs no secret.
        identity = (s.state_dir / "installation-id").read_text()
        (s.state_dir / "installation-id").write_text("00000000-0000-4000-8000-000000000001\n")
        r = cli(s, "restore", "--to", str(tmp_path / "z.sqlite"), check=False)
        assert r.returncode == 0 and "restored" in r.stdout, r.stderr
        assert (s.state_dir / "installation-id").read_text() == "00000000-0000-4000-8000-000000000001\n"
        (s.state_dir / "installation-id").write_text(identity)
    finally:
        s.stop()
        s.cleanup()
    cfg = tmp_path / "pg.toml"
    cfg.write_text(f"""
[server]
state_dir = "{tmp_path}/state"
[metadata]
kind = "postgres"
url = "host=/tmp dbname=s3gw"
[[zones]]
name = "local"
kind = "filesystem"
path = "{tmp_path}/zone"
[backup]
zone = "local"
bucket = "{BUCKET}"
""")
    r = subprocess.run([str(s3gw_bin()), "config", "check", "-c", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "base backups and WAL archiving" in r.stdout + r.stderr
