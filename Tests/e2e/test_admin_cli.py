"""The admin command line, `s3gw tenants|users|credentials|keys`, on the gateway host (-c CONFIG:
in-process on the metadata store) and against a running gateway's admin API (--endpoint URL,
SigV4 with admin credentials): tables and --json; a user's keys from creation to deletion, used
with boto3 at each step; a tenant administrator confined to its tenant; secrets shown once and
found nowhere else (outputs, the gateway's log, the metadata database's bytes), also after
`s3gw keys rotate`, after which every key still works."""

import json
import os
import subprocess

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from admin_api import SigV4
from admin_cli import as_json, cli, fields
from conftest import REGION, Stack, s3gw_bin, wait_until

# Every secret key this module saw, for the final searches.
SECRETS: list[str] = []


@pytest.fixture(scope="module")
def gw():
    s = Stack("admincli").start()
    SECRETS.append(s.secret_key)
    yield s
    s.stop()
    s.cleanup()


def s3(stack: Stack, access_key: str, secret_key: str):
    return boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name=REGION,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def error_code(call) -> str | None:
    """The S3 error code `call()` fails with, None when it succeeds."""
    try:
        call()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


def new_key(r: subprocess.CompletedProcess) -> tuple[str, str]:
    """The key pair of a `credentials create|rotate --json` answer (the one time a secret shows)."""
    c = as_json(r)
    SECRETS.append(c["secret_key"])
    assert "shown only now" in r.stderr
    return c["access_key"], c["secret_key"]


# -- a user's keys, from creation to deletion ----------------------------------------------------
@pytest.mark.parametrize("mode", ["local", "remote"])
def test_a_users_keys_from_creation_to_deletion(gw, mode):
    tenant = f"acme-{mode}"
    r = cli(gw, "tenants", "create", tenant, "--display-name", "Acme Corp", mode=mode)
    assert {k: v for k, v in fields(r.stdout).items() if k != "created at"} == {"id": tenant,
                                                                                 "display name": "Acme Corp"}
    assert tenant in cli(gw, "tenants", "list", mode=mode).stdout
    assert {"id": tenant, "display_name": "Acme Corp"}.items() <= as_json(
        cli(gw, "tenants", "show", tenant, "--json", mode=mode)).items()

    permissions = {"s3:*": ["photos", "photos/*"], "s3:ListAllMyBuckets": ["*"]}
    u = as_json(cli(gw, "users", "create", tenant, "alice", "--permissions", json.dumps(permissions), "--json",
                    mode=mode))
    assert u["permissions"] == permissions and len(u["id"]) == 64
    table = cli(gw, "users", "show", tenant, "alice", mode=mode).stdout
    assert "s3:ListAllMyBuckets  *" in table and "photos, photos/*" in table, table

    # The secret is in the answer that creates the key, in a table too.
    r = cli(gw, "credentials", "create", tenant, "alice", mode=mode)
    shown = fields(r.stdout)
    ak, sk = shown["access key"], shown["secret key"]
    SECRETS.append(sk)
    assert shown["status"] == "active" and shown["tenant"] == tenant and shown["user"] == "alice"
    assert "shown only now" in r.stderr
    assert ak.startswith("S3GW") and len(sk) == 40

    client = s3(gw, ak, sk)
    client.create_bucket(Bucket="photos")
    client.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    assert client.get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"meow"
    assert error_code(lambda: client.create_bucket(Bucket="other")) == "AccessDenied"

    # Deactivated: refused within the cache's bound; reactivated: works again.
    assert as_json(cli(gw, "credentials", "deactivate", tenant, "alice", ak, "--json", mode=mode))["status"] == "inactive"
    wait_until(lambda: error_code(lambda: client.list_objects_v2(Bucket="photos")) == "InvalidAccessKeyId", 10,
               "the deactivated key to be refused")
    cli(gw, "credentials", "reactivate", tenant, "alice", ak, mode=mode)
    wait_until(lambda: error_code(lambda: client.list_objects_v2(Bucket="photos")) is None, 10,
               "the reactivated key to work")

    # Rotated: the old secret stops at once (same process) or within the bound, the new works.
    ak2, sk2 = new_key(cli(gw, "credentials", "rotate", tenant, "alice", ak, "--json", mode=mode))
    assert ak2 == ak and sk2 != sk
    wait_until(lambda: error_code(lambda: client.list_objects_v2(Bucket="photos")) == "SignatureDoesNotMatch", 10,
               "the old secret to be refused")
    rotated = s3(gw, ak, sk2)
    wait_until(lambda: error_code(lambda: rotated.list_objects_v2(Bucket="photos")) is None, 10,
               "the new secret to work")

    # Two keys at once; a third is a clear error.
    second, second_secret = new_key(cli(gw, "credentials", "create", tenant, "alice", "--json", mode=mode))
    r = cli(gw, "credentials", "create", tenant, "alice", mode=mode, check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == "s3gw: Conflict: user alice already has 2 access keys", r.stderr
    listed = as_json(cli(gw, "credentials", "list", tenant, "alice", "--json", mode=mode))["items"]
    assert sorted(c["access_key"] for c in listed) == sorted([ak, second])
    table = cli(gw, "credentials", "list", tenant, "alice", mode=mode).stdout
    assert table.splitlines()[0].split() == ["ACCESS", "KEY", "STATUS", "CREATED"] and ak in table

    # Deleted: refused; the user and tenant go once nothing depends on them.
    assert cli(gw, "credentials", "delete", tenant, "alice", ak, mode=mode).stdout.strip() == f"deleted access key {ak}"
    wait_until(lambda: error_code(lambda: rotated.list_objects_v2(Bucket="photos")) == "InvalidAccessKeyId", 10,
               "the deleted key to be refused")
    r = cli(gw, "credentials", "show", tenant, "alice", ak, mode=mode, check=False)
    assert r.returncode == 1 and r.stderr.startswith("s3gw: NotFound: access key"), r.stderr
    r = cli(gw, "tenants", "delete", tenant, mode=mode, check=False)
    assert r.returncode == 1 and r.stderr.startswith("s3gw: Conflict: tenant"), r.stderr
    other = s3(gw, second, second_secret)
    other.delete_object(Bucket="photos", Key="cat.jpg")
    other.delete_bucket(Bucket="photos")
    cli(gw, "users", "delete", tenant, "alice", mode=mode)
    wait_until(lambda: error_code(lambda: other.list_buckets()) == "InvalidAccessKeyId", 10,
               "the deleted user's keys to be refused")
    cli(gw, "tenants", "delete", tenant, mode=mode)
    assert tenant not in cli(gw, "tenants", "list", mode=mode).stdout


def test_set_permissions_from_a_file_takes_effect_without_a_restart(gw, tmp_path):
    cli(gw, "tenants", "create", "perm")
    cli(gw, "users", "create", "perm", "bob", "--permissions", '{"s3:*": ["docs", "docs/*"]}', mode="remote")
    ak, sk = new_key(cli(gw, "credentials", "create", "perm", "bob", "--json", mode="remote"))
    bob = s3(gw, ak, sk)
    bob.create_bucket(Bucket="docs")
    bob.put_object(Bucket="docs", Key="a", Body=b"a")
    rules = tmp_path / "read-only.json"
    rules.write_text(json.dumps({"s3:GetObject": ["docs/*"], "s3:ListBucket": ["docs"]}))
    u = as_json(cli(gw, "users", "set-permissions", "perm", "bob", f"@{rules}", "--json"))
    assert u["permissions"] == {"s3:GetObject": ["docs/*"], "s3:ListBucket": ["docs"]}
    tries = iter(range(1000))

    def refused_write():
        key = f"probe-{next(tries)}"
        return key if error_code(lambda: bob.put_object(Bucket="docs", Key=key, Body=b"b")) == "AccessDenied" else None

    refused = wait_until(refused_write, 10, "the narrowed permissions to refuse a write")
    assert bob.get_object(Bucket="docs", Key="a")["Body"].read() == b"a"
    assert error_code(lambda: bob.head_object(Bucket="docs", Key=refused)) == "404", "the refused write stored"


# -- a tenant's administrator ------------------------------------------------------------------
def test_a_tenant_administrator_manages_only_its_tenant(gw):
    for t in ("ta", "tb"):
        cli(gw, "tenants", "create", t)
    cli(gw, "users", "create", "tb", "victim")
    cli(gw, "users", "create", "ta", "boss", "--permissions", '{"admin:*": ["*"]}')
    boss = new_key(cli(gw, "credentials", "create", "ta", "boss", "--json"))
    # Its own tenant: users and keys.
    cli(gw, "users", "create", "ta", "worker", mode="remote", keys=boss)
    SECRETS.append(as_json(cli(gw, "credentials", "create", "ta", "worker", "--json", mode="remote", keys=boss))[
        "secret_key"])
    assert [u["name"] for u in as_json(cli(gw, "users", "list", "ta", "--json", mode="remote", keys=boss))["items"]] \
        == ["boss", "worker"]
    # Another tenant, or the gateway's list of tenants: AccessDenied, and nothing changes.
    for args in (["tenants", "list"], ["tenants", "create", "tc"], ["tenants", "show", "tb"], ["users", "list", "tb"],
                 ["users", "create", "tb", "intruder"], ["users", "delete", "tb", "victim"],
                 ["credentials", "create", "tb", "victim"], ["tenants", "delete", "ta"]):
        r = cli(gw, *args, mode="remote", keys=boss, check=False)
        assert r.returncode == 1 and r.stderr == "s3gw: AccessDenied: Access Denied\n", (args, r.stderr)
    assert [u["name"] for u in as_json(cli(gw, "users", "list", "tb", "--json"))["items"]] == ["victim"]
    assert as_json(cli(gw, "credentials", "list", "tb", "victim", "--json"))["items"] == []
    assert "tc" not in cli(gw, "tenants", "list").stdout


# -- the command line itself -------------------------------------------------------------------
def test_https_with_the_ca_bundle_and_without(gw):
    assert "default" in cli(gw, "tenants", "list", mode="https").stdout
    argv = [str(s3gw_bin()), "tenants", "list", "--endpoint", gw.https_url]
    env = dict(os.environ, S3GW_ADMIN_ACCESS_KEY=gw.access_key, S3GW_ADMIN_SECRET_KEY=gw.secret_key)
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("s3gw: Unreachable: "), r.stderr
    r = subprocess.run(argv + ["--insecure"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "default" in r.stdout, r.stderr


def test_usage_errors_exit_2_and_api_errors_exit_1(gw):
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3GW_"))}
    binary = str(s3gw_bin())
    for argv, env, says in [
        ([binary, "tenants", "list", "--endpoint", gw.http_url], bare, "needs admin credentials"),
        ([binary, "tenants", "list", "--endpoint", gw.http_url, "-c", str(gw.config)], bare, "not both"),
        ([binary, "tenants", "list", "--access-key", "x", "--secret-key", "y", "-c", str(gw.config)], bare,
         "go with --endpoint"),
        ([binary, "users", "create", "default", "x", "--permissions", "{not json", "-c", str(gw.config)], bare,
         "JSON object"),
        ([binary, "users", "create", "default", "x", "--permissions", "@/nonexistent", "-c", str(gw.config)], bare,
         "cannot read"),
    ]:
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2 and says in r.stderr, (argv, r.returncode, r.stderr)
    r = cli(gw, "tenants", "create", "Not_Valid", check=False)
    assert (r.returncode, r.stderr) == (1, "s3gw: InvalidRequest: a tenant id is 1 to 32 lowercase letters, digits "
                                           "and dashes\n")
    r = cli(gw, "users", "show", "default", "nobody", mode="remote", check=False)
    assert (r.returncode, r.stderr) == (1, "s3gw: NotFound: user nobody of tenant default does not exist\n")
    r = cli(gw, "users", "create", "default", "x", "--permissions", '{"s3:Fly": ["*"]}', check=False)
    assert (r.returncode, r.stderr) == (1, 's3gw: InvalidRequest: permissions: unknown action "s3:Fly"\n')
    r = cli(gw, "tenants", "list", mode="remote", keys=(gw.access_key, "wrong"), check=False)
    assert r.returncode == 1 and r.stderr.startswith("s3gw: SignatureDoesNotMatch: "), r.stderr
    r = subprocess.run([binary, "tenants", "list", "-c", "/nonexistent.toml"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("s3gw: InvalidConfiguration: "), r.stderr


def test_lists_follow_next_marker_to_the_end(gw):
    """1001 users: more than one page of the largest (1000), in name order, none twice."""
    cli(gw, "tenants", "create", "crowd")
    session = requests.Session()
    session.auth = SigV4(gw.access_key, gw.secret_key)
    names = sorted(f"user-{i:04d}" for i in range(1001))
    for n in names:
        r = session.post(f"{gw.http_url}/admin/tenants/crowd/users", data=json.dumps({"name": n}).encode(),
                         headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 201, r.text
    for mode in ("local", "remote"):
        assert [u["name"] for u in as_json(cli(gw, "users", "list", "crowd", "--json", mode=mode))["items"]] == names
    table = cli(gw, "users", "list", "crowd").stdout.splitlines()
    assert len(table) == 1002 and table[1].startswith("user-0000") and table[-1].startswith("user-1000")
    for n in names:
        assert session.delete(f"{gw.http_url}/admin/tenants/crowd/users/{n}", timeout=30).status_code == 204
    cli(gw, "tenants", "delete", "crowd")


# -- secrets at rest, and the master key -------------------------------------------------------
def every_working_key(gw) -> list[tuple[str, str]]:
    """Each key pair this module created that still exists, with the root pair."""
    pairs = [(gw.access_key, gw.secret_key)]
    for t in as_json(cli(gw, "tenants", "list", "--json"))["items"]:
        for u in as_json(cli(gw, "users", "list", t["id"], "--json"))["items"]:
            for c in as_json(cli(gw, "credentials", "list", t["id"], u["name"], "--json"))["items"]:
                pairs += [(c["access_key"], s) for s in SECRETS if c["access_key"] != gw.access_key]
    return pairs


def working(gw, pairs) -> set[str]:
    """The access keys of `pairs` whose secret signs a request the gateway accepts (the user may
    still not be permitted to list buckets)."""
    ok = set()
    for ak, sk in pairs:
        if error_code(lambda: s3(gw, ak, sk).list_buckets()) not in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            ok.add(ak)
    return ok


def assert_no_secret_stored_or_logged(gw):
    assert len(SECRETS) >= 8
    database = b"".join(p.read_bytes() for p in sorted(gw.state_dir.glob("metadata.sqlite*")))
    assert b"v1:" in database, "the sealed secrets are where this test looks"
    logs = [gw.gateway_log, gw.nginx_prefix / "error.log", gw.nginx_prefix / "access.log"]
    text = b"".join(p.read_bytes() for p in logs if p.exists())
    for s in SECRETS:
        assert s.encode() not in database, "a secret key is in the metadata database in clear"
        assert s.encode() not in text, "a secret key is in a log"


def test_shows_and_lists_never_hold_a_secret(gw):
    for mode in ("local", "remote"):
        outputs = [cli(gw, "tenants", "list", mode=mode).stdout]
        for t in as_json(cli(gw, "tenants", "list", "--json", mode=mode))["items"]:
            for u in as_json(cli(gw, "users", "list", t["id"], "--json", mode=mode))["items"]:
                for fmt in ([], ["--json"]):
                    outputs.append(cli(gw, "users", "show", t["id"], u["name"], *fmt, mode=mode).stdout)
                    listed = cli(gw, "credentials", "list", t["id"], u["name"], *fmt, mode=mode).stdout
                    outputs.append(listed)
                for c in as_json(cli(gw, "credentials", "list", t["id"], u["name"], "--json", mode=mode))["items"]:
                    for fmt in ([], ["--json"]):
                        shown = cli(gw, "credentials", "show", t["id"], u["name"], c["access_key"], *fmt, mode=mode)
                        outputs.append(shown.stdout)
        joined = "\n".join(outputs)
        assert "secret" not in joined.lower()
        for s in SECRETS:
            assert s not in joined


def test_no_secret_is_stored_or_logged(gw):
    assert_no_secret_stored_or_logged(gw)


def test_keys_rotate_reseals_every_secret_and_every_key_still_works(gw):
    pairs = every_working_key(gw)
    before = working(gw, pairs)
    assert gw.access_key in before and len(before) >= 4, before
    key_file = gw.state_dir / "master-key"
    old_key = key_file.read_text()
    r = cli(gw, "keys", "rotate")
    assert r.returncode == 0, r.stderr
    new_key_text = key_file.read_text()
    assert new_key_text != old_key and len(new_key_text.split()) == 1 and oct(key_file.stat().st_mode)[-3:] == "600"
    # Counts, never a key.
    assert old_key.strip() not in r.stdout + r.stderr and new_key_text.strip() not in r.stdout + r.stderr
    assert "re-sealed" in r.stdout and "now holds only the new master key" in r.stdout, r.stdout
    # Every key works, through workers that started before the rotation and hold only the old key.
    assert working(gw, pairs) == before
    # The admin API seals what it creates under the new key from now on.
    cli(gw, "tenants", "create", "after-rotation", mode="remote")
    cli(gw, "users", "create", "after-rotation", "carol", "--permissions", '{"s3:ListAllMyBuckets": ["*"]}',
        mode="remote")
    ak, sk = new_key(cli(gw, "credentials", "create", "after-rotation", "carol", "--json", mode="remote"))
    assert error_code(lambda: s3(gw, ak, sk).list_buckets()) is None
    database = b"".join(p.read_bytes() for p in sorted(gw.state_dir.glob("metadata.sqlite*")))
    new_id = r.stdout.split("(id ")[1][:8]
    assert database.count(f"v1:{new_id}:".encode()) >= len(before) + 1
    # Again: nothing left under the previous key.
    again = cli(gw, "keys", "rotate")
    assert "re-sealed" in again.stdout
    assert working(gw, pairs + [(ak, sk)]) == before | {ak}
    assert_no_secret_stored_or_logged(gw)


def test_keys_rotate_with_the_master_key_in_the_environment(monkeypatch):
    old, new = os.urandom(32).hex(), os.urandom(32).hex()
    monkeypatch.setenv("S3GW_MASTER_KEY", old)
    stack = Stack("envkey")
    try:
        stack.start()
        assert not (stack.state_dir / "master-key").exists()
        # The CLI on the host needs the key the gateway uses: it never makes a key file of its own.
        refused = cli(stack, "tenants", "create", "env", check=False)
        assert refused.returncode == 1 and "s3gw serve" in refused.stderr, refused.stderr
        assert not (stack.state_dir / "master-key").exists()
        cli(stack, "tenants", "create", "env", env={"S3GW_MASTER_KEY": old})
        cli(stack, "users", "create", "env", "dave", "--permissions", '{"s3:ListAllMyBuckets": ["*"]}',
            env={"S3GW_MASTER_KEY": old})
        ak, sk = new_key(cli(stack, "credentials", "create", "env", "dave", "--json", mode="remote"))
        r = cli(stack, "keys", "rotate", env={"S3GW_MASTER_KEY": old})
        assert "holds one key" in r.stdout, r.stdout
        # The operator adds a key and restarts; the gateway seals under the new one from then on.
        monkeypatch.setenv("S3GW_MASTER_KEY", f"{old},{new}")
        stack.stop()
        stack.start()
        r = cli(stack, "keys", "rotate", env={"S3GW_MASTER_KEY": f"{old},{new}"})
        assert "re-sealed 2 secret(s)" in r.stdout and "can now be dropped" in r.stdout, r.stdout
        assert old not in r.stdout + r.stderr and new not in r.stdout + r.stderr
        monkeypatch.setenv("S3GW_MASTER_KEY", new)
        stack.stop()
        stack.start()
        for pair in ((ak, sk), (stack.access_key, stack.secret_key)):
            assert error_code(lambda: s3(stack, *pair).list_buckets()) is None
    finally:
        stack.stop()
        stack.cleanup()
