"""A gateway whose metadata is in PostgreSQL (docs/METADATA.md, "PostgreSQL"), whatever
S3GW_E2E_METADATA says: nothing of it in the state directory, and every session of the gateway
ended by the server (a restart, a failover) costs no request — each connection reconnects and
runs its statement, or its whole transaction, again — but one whose COMMIT was in flight."""

import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import SCRIPTS, Stack, new_bucket_name, s3_client, wait_until

if subprocess.run([str(SCRIPTS / "pg-cluster.sh"), "bindir"], capture_output=True).returncode != 0:
    pytest.skip("PostgreSQL is not installed (scripts/install-test-deps.sh installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def stack():
    s = Stack("pgmeta", workers=2, threads=4, postgres=True).start()
    yield s
    s.stop()
    s.cleanup()


def gateway_sessions(stack: Stack) -> int:
    db = stack.postgres_url.rsplit("dbname=", 1)[1]
    return int(stack.metadata_sql(
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()").strip())


def end_gateway_sessions(stack: Stack) -> int:
    db = stack.postgres_url.rsplit("dbname=", 1)[1]
    out = stack.metadata_sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{db}' AND pid <> pg_backend_pid()")
    return int(out.strip())


def test_the_metadata_is_in_postgres_not_in_the_state_directory(stack):
    s3 = s3_client(stack)
    bucket = new_bucket_name("pg")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"in postgres")
    assert not list(stack.state_dir.glob("metadata.sqlite*"))
    assert stack.metadata_sql(f"SELECT key, size FROM objects WHERE bucket = '{bucket}'").split() == ["k", "11"]
    assert gateway_sessions(stack) >= 1


def test_requests_survive_the_server_ending_every_session(stack):
    s3 = s3_client(stack)
    bucket = new_bucket_name("pgloss")
    s3.create_bucket(Bucket=bucket)
    for i in range(20):
        s3.put_object(Bucket=bucket, Key=f"before-{i}", Body=b"x" * i)
    errors: list[str] = []
    crashed: list[str] = []
    written: list[str] = []
    stop = threading.Event()

    def load(n: int):
        c = s3_client(stack)
        i = 0
        while not stop.is_set():
            key = f"during-{n}-{i}"
            try:
                c.put_object(Bucket=bucket, Key=key, Body=key.encode())
                written.append(key)
                c.get_object(Bucket=bucket, Key=f"before-{i % 20}")["Body"].read()
            except ClientError as e:
                errors.append(f"{key}: {e.response['Error']['Code']} {e}")
            except Exception as e:  # noqa: BLE001 - a load thread's crash must fail the test, not vanish
                crashed.append(f"{key}: {e!r}")
                return
            i += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        ended = 0
        for _ in range(10):
            wait_until(lambda: gateway_sessions(stack) > 0, 10, "the gateway to hold sessions")
            ended += end_gateway_sessions(stack)
            time.sleep(0.2)
        assert ended >= 10
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads), "a load thread hangs"
    assert not crashed, crashed[:5]
    # A session ended while its COMMIT is in flight leaves the outcome unknown: that request
    # fails (a 500 the client retries), logged as such. No other request may fail.
    unknown = stack.gateway_log.read_text(errors="replace").count("outcome unknown")
    assert all(" InternalError " in e for e in errors) and len(errors) <= unknown, (unknown, errors[:5])
    assert len(written) > 20, "the writes did not go on"
    # Every acknowledged write is there, once.
    listed = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in page.get("Contents", [])}
    assert set(written) <= listed
    assert {f"before-{i}" for i in range(20)} <= listed
    # And the audit chain stayed one chain through it all.
    from admin_cli import as_json, cli
    assert as_json(cli(stack, "audit", "verify", "--json"))["ok"]
