"""The hash-chained audit log end to end (docs/OBSERVABILITY.md, "Audit chain"): a workload of
boto3, the aws cli, the admin API, STS and a request with a wrong signature against a gateway
with two workers; `s3gw audit show` lists each change with its actor, `s3gw audit verify` passes,
digests signed by the agent land in a filesystem zone bucket and verify with --digests; then rows
are edited, deleted and cut off with the sqlite3 module and verify fails naming the record. No
secret, session token, object byte, metadata or tag value is ever in audit_log."""

import json
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import admin_api
from admin_cli import as_json, cli
from conftest import REGION, Stack, client_env, new_bucket_name, run, s3_client, wait_until

DIGEST_BUCKET = "s3gw-audit-digests"
# Everything a record must never hold; the last test greps audit_log for each.
SECRETS: list[str] = []


@pytest.fixture(scope="module")
def stack():
    s = Stack(
        "audit", workers=2,
        extra=f'\n[audit]\ndigest_interval = 0.05\ndigest_zone = "local-1"\ndigest_bucket = "{DIGEST_BUCKET}"\n',
    ).start()
    SECRETS.append(s.secret_key)
    yield s
    s.stop()
    s.cleanup()


def db(stack: Stack):
    """The store's database behind the gateway's back: the SQLite file, or with the metadata in
    PostgreSQL (S3GW_E2E_METADATA=postgres) the same few calls over psql."""
    if stack.postgres_url:
        return PostgresTamperer(stack)
    return sqlite3.connect(stack.state_dir / "metadata.sqlite", timeout=30)


class PostgresTamperer:
    """What the tamper tests use of a sqlite3 connection (`with`, `execute` with `?` values,
    `fetchone`, iteration), run with psql on the stack's PostgreSQL database."""

    def __init__(self, stack: Stack):
        self.stack = stack

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def literal(v) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, int):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    def execute(self, sql: str, params: tuple = ()) -> list:
        values = iter(params)
        sql = re.sub(r"\?", lambda _: self.literal(next(values)), sql)
        out = self.stack.metadata_sql(sql)
        return PostgresRows(
            tuple(int(f) if re.fullmatch(r"-?[0-9]+", f) else f for f in line.split("\t"))
            for line in out.splitlines())


class PostgresRows(list):
    def fetchone(self):
        return self[0] if self else None


def records(stack: Stack, **filters) -> list[dict]:
    args = ["audit", "show", "--json", "--limit", "1000"]
    for k, v in filters.items():
        args += [f"--{k}", v]
    return as_json(cli(stack, *args))["records"]


def verify(stack: Stack, *args, check: bool = True):
    r = cli(stack, "audit", "verify", "--json", *args, check=False)
    assert r.returncode in (0, 1), f"verify could not run ({r.returncode}): {r.stdout}{r.stderr}"
    report = json.loads(r.stdout)
    if check:
        assert r.returncode == 0 and report["ok"], report
    return r.returncode, report


@pytest.fixture(scope="module")
def workload(stack, tmp_path_factory):
    """One run of every kind of client; returns what the tests look for."""
    tmp = tmp_path_factory.mktemp("audit")
    s3 = s3_client(stack)
    bucket = new_bucket_name("audit")
    marker = "OBJECT-BYTES-" + uuid.uuid4().hex
    meta_value = "META-VALUE-" + uuid.uuid4().hex
    tag_value = "TAG-VALUE-" + uuid.uuid4().hex
    SECRETS.extend([marker, meta_value, tag_value])
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=marker.encode(), Metadata={"note": meta_value})
    s3.put_object_tagging(Bucket=bucket, Key="a.txt", Tagging={"TagSet": [{"Key": "class", "Value": tag_value}]})
    s3.delete_object(Bucket=bucket, Key="a.txt")
    # A conditional put that loses changes nothing: no record.
    s3.put_object(Bucket=bucket, Key="once", Body=b"first")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    # The aws cli: an upload and bucket tags.
    src = tmp / "cli.bin"
    src.write_bytes(marker.encode() * 10)
    env = client_env(stack, "http", tmp)
    run(["aws", "s3", "cp", str(src), f"s3://{bucket}/cli.bin", "--endpoint-url", stack.http_url], env=env)
    run(["aws", "s3api", "put-bucket-tagging", "--bucket", bucket, "--endpoint-url", stack.http_url,
         "--tagging", f"TagSet=[{{Key=team,Value={tag_value}}}]"], env=env)
    # The admin API: a user with a key (its secret is in the answer, never in a record).
    user = "audit-" + uuid.uuid4().hex[:8]
    r = admin_api.admin(stack, "POST", "tenants/default/users", {"name": user, "permissions": {"s3:*": ["*"]}})
    assert r.status_code == 201, r.text
    r = admin_api.admin(stack, "POST", f"tenants/default/users/{user}/credentials", {})
    assert r.status_code == 201, r.text
    key = r.json()
    SECRETS.append(key["secret_key"])
    # STS: a session (secret and token never recorded).
    sts = boto3.client("sts", endpoint_url=stack.http_url, region_name=REGION, aws_access_key_id=stack.access_key,
                       aws_secret_access_key=stack.secret_key)
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    SECRETS.extend([creds["SecretAccessKey"], creds["SessionToken"]])
    # A wrong signature: refused, and recorded as an authentication failure.
    bad = boto3.client("s3", endpoint_url=stack.http_url, region_name=REGION, aws_access_key_id=stack.access_key,
                       aws_secret_access_key="not-the-secret-" + uuid.uuid4().hex,
                       config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="nope", Body=b"x")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # A change made with the CLI on the host: recorded as the host user who ran it.
    cli(stack, "buckets", "replicas", bucket, "1")
    # Concurrent writers on both workers: one gapless chain however their transactions interleave.
    def burst(n):
        c = s3_client(stack)
        for i in range(15):
            c.put_object(Bucket=bucket, Key=f"burst/{n}/{i}", Body=b"x")
    threads = [threading.Thread(target=burst, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"bucket": bucket, "user": user, "access_key": key["access_key"], "session_key": creds["AccessKeyId"]}


def test_show_lists_each_change_with_its_actor(stack, workload):
    bucket = workload["bucket"]
    mine = records(stack, bucket=bucket)
    changes = [(r["change"], r["key"]) for r in mine]
    assert changes[:5] == [("bucket.create", ""), ("object.put", "a.txt"), ("object.tags", "a.txt"),
                           ("object.delete", "a.txt"), ("object.put", "once")], changes
    # The losing conditional put left no record; the cli upload and the bucket tags did.
    assert ("object.put", "cli.bin") in changes and ("bucket.tags", "") in changes
    assert len([c for c in changes if c == ("object.put", "once")]) == 1
    put = mine[1]
    assert (put["origin"], put["tenant"], put["access_key_id"], put["operation"]) == (
        "s3", "default", stack.access_key, "PutObject")
    assert put["client_ip"] == "127.0.0.1" and put["request_id"]
    assert json.loads(put["detail"])["size"] == len("OBJECT-BYTES-") + 32
    assert json.loads(mine[2]["detail"]) == {"tag_keys": ["class"]}
    assert mine[0]["operation"] == "CreateBucket"

    admin_changes = {r["change"]: r for r in records(stack, tenant="default") if r["origin"] == "admin"}
    user = admin_changes["user.create"]
    assert user["operation"] == "admin:CreateUser" and json.loads(user["detail"])["user"] == workload["user"]
    cred = admin_changes["credential.create"]
    assert json.loads(cred["detail"])["access_key_id"] == workload["access_key"]
    session = records(stack, change="session.create")[-1]
    assert session["origin"] == "sts" and json.loads(session["detail"])["access_key_id"] == workload["session_key"]

    replicas = [r for r in mine if r["change"] == "bucket.replicas"][-1]
    assert (replicas["origin"], replicas["access_key_id"]) == ("cli", f"uid:{os.getuid()}"), replicas
    assert len([c for c in changes if c[0] == "object.put" and c[1].startswith("burst/")]) == 90

    failure = records(stack, change="auth.failure")[-1]
    assert failure["origin"] == "s3" and json.loads(failure["detail"])["reason"] == "SignatureDoesNotMatch"
    assert failure["access_key_id"] == "" and failure["client_ip"] == "127.0.0.1"
    assert json.loads(failure["detail"])["access_key_id"] == stack.access_key

    # The same through the admin API, and the table form.
    r = admin_api.admin(stack, "GET", f"audit/events?bucket={bucket}&limit=2")
    page = r.json()
    assert r.status_code == 200 and [x["seq"] for x in page["records"]] == [x["seq"] for x in mine[:2]]
    assert page["next"] == str(mine[1]["seq"])
    assert records(stack, bucket=bucket, since="2000-01-01T00:00:00Z") == mine
    assert records(stack, bucket=bucket, since=str(int(time.time()) + 3600)) == []
    table = cli(stack, "audit", "show", "--bucket", bucket).stdout
    assert "object.delete" in table and "PutObject" in table


def test_verify_passes_and_digests_land_in_the_zone(stack, workload):
    code, report = verify(stack)
    assert report["records_checked"] >= 10 and report["last_seq"] == report["records_checked"]
    last = report["last_seq"]

    def digested():
        ds = as_json(cli(stack, "audit", "digests", "--json"))["digests"]
        return ds and ds[-1]["digest"]["last_seq"] >= last and len(ds) >= 2

    wait_until(digested, 30, "a digest covering the workload")
    files = list((stack.zone_dir / "buckets" / DIGEST_BUCKET).rglob("*"))
    assert any(f.is_file() for f in files), files
    code, report = verify(stack, "--digests", f"local-1/{DIGEST_BUCKET}")
    assert report["digests_checked"] >= 2 and report["digest_source"] == f"local-1/{DIGEST_BUCKET}"
    code, report = verify(stack)
    assert report["digests_checked"] >= 2


def row(stack: Stack, seq: int) -> tuple:
    with db(stack) as c:
        return c.execute("SELECT * FROM audit_log WHERE seq = ?", (seq,)).fetchone()


def put_back(stack: Stack, values: tuple) -> None:
    with db(stack) as c:
        # A record the gateway appended while a row was missing took its seq: replacing it
        # would hide that record, so the test says what happened instead.
        there = c.execute("SELECT * FROM audit_log WHERE seq = ?", (values[0],)).fetchone()
        if there is not None and there[-1] != values[-1] and there[-2] == values[-2]:
            pytest.fail(f"record {values[0]} was appended by the gateway while the row was cut: {there}")
        if stack.postgres_url:
            c.execute("DELETE FROM audit_log WHERE seq = ?", (values[0],))
            c.execute(f"INSERT INTO audit_log VALUES ({','.join('?' * len(values))})", values)
        else:
            c.execute(f"INSERT OR REPLACE INTO audit_log VALUES ({','.join('?' * len(values))})", values)


def test_an_edited_row_is_named(stack, workload):
    seq = records(stack, bucket=workload["bucket"])[1]["seq"]
    original = row(stack, seq)
    with db(stack) as c:
        c.execute("UPDATE audit_log SET key = 'innocent.txt' WHERE seq = ?", (seq,))
    try:
        code, report = verify(stack, check=False)
        assert code == 1 and report["problem"]["kind"] == "altered" and report["problem"]["seq"] == seq, report
        assert f"record {seq} altered" in cli(stack, "audit", "verify", check=False).stdout
    finally:
        put_back(stack, original)
    verify(stack)


def test_a_deleted_row_is_named(stack, workload):
    seq = records(stack, bucket=workload["bucket"])[3]["seq"]
    original = row(stack, seq)
    with db(stack) as c:
        c.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))
    try:
        code, report = verify(stack, check=False)
        assert code == 1 and report["problem"]["kind"] == "deleted" and report["problem"]["seq"] == seq, report
        # From a later seq the gap is before the start: still named.
        code, report = verify(stack, "--from", str(seq + 1), check=False)
        assert code == 1 and report["problem"]["seq"] == seq
    finally:
        put_back(stack, original)
    verify(stack)


def test_a_cut_tail_is_named_by_the_digest(stack, workload):
    # A digest covering the last record, then that record removed: the chain alone looks whole.
    with db(stack) as c:
        last = c.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
    wait_until(lambda: as_json(cli(stack, "audit", "digests", "--json"))["digests"][-1]["digest"]["last_seq"] >= last,
               30, "a digest naming the last record")
    with db(stack) as c:
        last = c.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
        signed = c.execute("SELECT MAX(last_seq) FROM audit_digests").fetchone()[0]
        assert signed == last, "a record was appended meanwhile"
        original = c.execute("SELECT * FROM audit_log WHERE seq = ?", (last,)).fetchone()
        c.execute("DELETE FROM audit_log WHERE seq = ?", (last,))
    try:
        code, report = verify(stack, check=False)
        assert code == 1 and report["problem"]["kind"] == "truncated", report
        assert report["problem"]["seq"] == last
        code, report = verify(stack, "--digests", f"local-1/{DIGEST_BUCKET}", check=False)
        assert code == 1 and report["problem"]["kind"] == "truncated", report
    finally:
        put_back(stack, original)
    verify(stack)


def test_a_forged_digest_is_named(stack, workload):
    with db(stack) as c:
        d = c.execute("SELECT id, signature FROM audit_digests ORDER BY id DESC LIMIT 1").fetchone()
        forged = ("0" if d[1][0] != "0" else "1") + d[1][1:]
        c.execute("UPDATE audit_digests SET signature = ? WHERE id = ?", (forged, d[0]))
    try:
        code, report = verify(stack, check=False)
        assert code == 1 and report["problem"]["kind"] == "bad-signature", report
    finally:
        with db(stack) as c:
            c.execute("UPDATE audit_digests SET signature = ? WHERE id = ?", (d[1], d[0]))
    verify(stack)


def test_no_secret_or_customer_data_in_the_audit_log(stack, workload):
    with db(stack) as c:
        dump = "\n".join(" ".join(map(str, r)) for r in c.execute("SELECT * FROM audit_log"))
        digests = "\n".join(" ".join(map(str, r)) for r in c.execute("SELECT * FROM audit_digests"))
    assert workload["access_key"] in dump  # access key ids are recorded...
    for secret in SECRETS:  # ...secrets, tokens, object bytes, metadata and tag values never
        assert secret not in dump and secret not in digests, f"{secret[:12]}… found in the audit log"
    key_file = stack.state_dir / "audit-ed25519.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert key_file.read_text().strip() not in dump + digests


def test_verify_trusts_the_store_keys_only_without_a_key_file(stack, workload):
    key_file = stack.state_dir / "audit-ed25519.key"
    seed = key_file.read_text()
    code, report = verify(stack)
    assert report["key_source"] == "file", report
    public_key = [k for k in as_json(cli(stack, "audit", "digests", "--json"))["keys"]][0]
    public_hex = public_key["public_key"]
    # A key kept elsewhere checks the digests without the file.
    code, report = verify(stack, "--public-key", public_hex)
    assert report["key_source"] == "option", report
    code, report = verify(stack, "--public-key", "ab" * 32, check=False)
    assert code == 1 and report["problem"]["kind"] == "unknown-key", report
    try:
        # A file that exists but is no key: the check cannot run (never a fallback to the store).
        key_file.write_text("not a key\n")
        r = cli(stack, "audit", "verify", "--json", check=False)
        assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
        assert "64 hex digits" in r.stderr
        key_file.write_text(seed)
        key_file.chmod(0o644)
        r = cli(stack, "audit", "verify", "--json", check=False)
        assert r.returncode == 2 and "0600" in r.stderr, (r.returncode, r.stderr)
        key_file.chmod(0o600)
        # No file at all: the store's keys, said so.
        key_file.unlink()
        r = cli(stack, "audit", "verify", "--json", check=False)
        assert r.returncode == 0 and json.loads(r.stdout)["key_source"] == "store", (r.stdout, r.stderr)
        assert "warning" in r.stderr
    finally:
        if not key_file.exists():
            key_file.write_text(seed)
        key_file.chmod(0o600)
    verify(stack)


def test_an_emptied_digest_bucket_and_a_from_past_the_end(stack, workload):
    wait_until(lambda: len(as_json(cli(stack, "audit", "digests", "--json"))["digests"]) >= 2, 30, "two digests")
    bucket_dir = stack.zone_dir / "buckets" / DIGEST_BUCKET
    aside = stack.state_dir / "digests-aside"
    shutil.move(str(bucket_dir), str(aside))
    bucket_dir.mkdir()
    try:
        code, report = verify(stack, "--digests", f"local-1/{DIGEST_BUCKET}", check=False)
        assert code == 1 and report["problem"]["kind"] == "digest-missing", report
    finally:
        # A digest the agent wrote meanwhile is kept.
        shutil.copytree(bucket_dir, aside, dirs_exist_ok=True)
        shutil.rmtree(bucket_dir)
        shutil.move(str(aside), str(bucket_dir))
    verify(stack, "--digests", f"local-1/{DIGEST_BUCKET}")
    # Far past the chain's end there is nothing to check: not a deletion.
    r = cli(stack, "audit", "verify", "--from", "100000000", check=False)
    assert r.returncode == 2 and "past the chain's end" in r.stderr, (r.returncode, r.stdout, r.stderr)


def test_verify_reads_a_forensic_copy_read_only(stack, workload, tmp_path):
    if stack.postgres_url:
        pytest.skip("--db reads a copy of the SQLite file; PostgreSQL's copies are its own backups")
    copy = tmp_path / "copy.sqlite"
    with db(stack) as live, sqlite3.connect(copy) as c:
        live.backup(c)
    with sqlite3.connect(copy) as c:
        seq = c.execute("SELECT MIN(seq) FROM audit_log WHERE change = 'object.put'").fetchone()[0]
        c.execute("UPDATE audit_log SET key = 'innocent' WHERE seq = ?", (seq,))
    before = copy.stat().st_mtime_ns
    code, report = verify(stack, "--db", str(copy), check=False)
    assert code == 1 and report["problem"]["kind"] == "altered" and report["problem"]["seq"] == seq, report
    assert copy.stat().st_mtime_ns == before, "the check wrote to what it checked"
    verify(stack)
    r = cli(stack, "audit", "verify", "--db", str(tmp_path / "missing.sqlite"), check=False)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)


def test_a_gateway_with_the_chain_off_says_so_in_the_chain():
    """`[audit] enabled = false` (for measuring the chain's cost) records no change, but the
    chain itself records, at the start, that it was switched off; the chain stays valid."""
    s = Stack("audit-off", workers=1, extra="\n[audit]\nenabled = false\n").start()
    try:
        s3 = s3_client(s)
        bucket = new_bucket_name("off")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        changes = [r["change"] for r in records(s)]
        assert "audit.disabled" in changes, changes
        # Nobody ran a command: the supervisor's record is the system's, as the bootstrap's.
        assert {r["origin"] for r in records(s) if r["change"] == "audit.disabled"} == {"system"}, records(s)
        assert "bucket.create" not in changes and "object.put" not in changes, changes
        verify(s)
    finally:
        s.stop()
        s.cleanup()
