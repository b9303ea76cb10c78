"""Tenants, users and permissions end to end: two tenants created through the admin API (signed
with botocore's SigV4Auth), each with a read-only user, a writer limited to a prefix and a tenant
administrator, driven by boto3 and the aws CLI. What a user may do works; everything else is
AccessDenied with nothing stored (checked with the tenant administrator's key). Each tenant's
`photos` holds its own bytes; a deactivated key's presigned URL stops working and a permission
change takes effect without a restart (both within the 2 s cache bound); a tenant administrator
manages only its own tenant. Neither the metadata database nor the gateway's or nginx's logs hold
a secret or a signature. Existing installations keep their buckets across a restart and across the
migration that introduced tenants."""

import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

import admin_api
from conftest import Stack, client_env, metadata_on_postgres, run, s3_client, wait_until

# Every secret and signature this module sees: none may be in the database or the gateway's log.
SECRETS: list[str] = []
SIGNATURES: set[str] = set()

READER = {"s3:Get*": ["*"], "s3:List*": ["*"]}
WRITER = {"s3:PutObject": ["photos/uploads/*"], "s3:GetObject": ["photos/uploads/*"],
          "s3:ListBucket": ["photos/uploads/*"]}
TENANT_ADMIN = {"s3:*": ["*"], "admin:*": ["*"]}
KINDS = {"reader": READER, "writer": WRITER, "admin": TENANT_ADMIN}
TENANTS = ("acme", "globex")
# The cache bound (2 s per worker process) plus a request's worth of slack.
CHANGE_BOUND = 6.0


@dataclass
class Key:
    tenant: str
    user: str
    access: str
    secret: str


class As:
    """The stack as seen by another key: what conftest's s3_client and client_env read."""

    def __init__(self, stack: Stack, key: Key):
        self.stack, self.access_key, self.secret_key = stack, key.access, key.secret
        self.ca_file = stack.ca_file

    def url(self, scheme: str) -> str:
        return self.stack.url(scheme)


def record_signature(authorization: str | None, url: str = "") -> None:
    for text in (authorization or "", url):
        for m in re.finditer(r"(?:Signature=|X-Amz-Signature=)([0-9a-fA-F]{64}|[^&,\s]+)", text):
            SIGNATURES.add(m.group(1))


def remember_signature(request, **_):
    """botocore's before-send hook: the request's signature joins SIGNATURES."""
    auth = request.headers.get("Authorization")
    record_signature(auth.decode() if isinstance(auth, bytes) else auth, request.url)


def client(stack: Stack, key: Key, **config):
    c = s3_client(As(stack, key), "http", **config)
    c.meta.events.register("before-send", remember_signature)
    return c


def admin(stack: Stack, key: Key, method: str, path: str, body=None) -> requests.Response:
    """An admin API call signed as any AWS signing library signs it."""
    r = admin_api.admin(stack, method, path, body, key.access, key.secret, declare_hash=False)
    record_signature(r.request.headers["Authorization"])
    return r


def ok(resp: requests.Response, status: int = 200) -> dict:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else {}


def admin_denied(resp: requests.Response) -> None:
    assert resp.status_code == 403, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    assert resp.json()["code"] == "AccessDenied", resp.text


def new_key(stack: Stack, by: Key, tenant: str, user: str) -> Key:
    made = ok(admin(stack, by, "POST", f"tenants/{tenant}/users/{user}/credentials"), 201)
    assert made["secret_key"] and made["access_key"], made
    SECRETS.append(made["secret_key"])
    return Key(tenant, user, made["access_key"], made["secret_key"])


def new_user(stack: Stack, by: Key, tenant: str, name: str, permissions: dict) -> Key:
    ok(admin(stack, by, "POST", f"tenants/{tenant}/users", {"name": name, "permissions": permissions}), 201)
    return new_key(stack, by, tenant, name)


def code(call) -> str:
    """The S3 error code a boto3 call fails with."""
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def error_of(call) -> str | None:
    """The S3 error code of a call that may still succeed (None then): for polling."""
    try:
        call()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


def denied(call) -> None:
    assert code(call) == "AccessDenied"


def missing(c, bucket: str, key: str) -> bool:
    return code(lambda: c.head_object(Bucket=bucket, Key=key)) == "404"


def aws(stack: Stack, key: Key, tmp: Path, *args: str, check: bool = True):
    env = client_env(As(stack, key), "http", tmp)
    return run(["aws", "--endpoint-url", stack.http_url, *args], env=env, check=check, stack=stack)


# -- the stack and its tenants ----------------------------------------------------------------
@pytest.fixture(scope="module")
def stack():
    s = Stack("tenants", workers=2).start()
    SECRETS.append(s.secret_key)
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def root(stack) -> Key:
    return Key("default", "root", stack.access_key, stack.secret_key)


@pytest.fixture(scope="module")
def keys(stack, root) -> dict[tuple[str, str], Key]:
    """Two tenants with a reader, a writer and an administrator each; each tenant's `photos`
    holds its own cat.jpg, made by its administrator."""
    made = {}
    for t in TENANTS:
        assert ok(admin(stack, root, "POST", "tenants", {"id": t}), 201)["id"] == t
        for kind, permissions in KINDS.items():
            made[(t, kind)] = new_user(stack, root, t, kind, permissions)
        c = client(stack, made[(t, "admin")])
        c.create_bucket(Bucket="photos")
        c.put_object(Bucket="photos", Key="cat.jpg", Body=f"{t}'s cat".encode())
    return made


def test_admin_api_shows_users_and_keys_but_never_a_secret_again(stack, root, keys):
    acme_reader = keys[("acme", "reader")]
    user = ok(admin(stack, root, "GET", "tenants/acme/users/reader"))
    assert user["permissions"] == READER and len(user["id"]) == 64, user
    users = ok(admin(stack, root, "GET", "tenants/acme/users"))["items"]
    assert sorted(u["name"] for u in users) == ["admin", "reader", "writer"], users
    listed = ok(admin(stack, root, "GET", "tenants/acme/users/reader/credentials"))["items"]
    assert [c["access_key"] for c in listed] == [acme_reader.access], listed
    shown = admin(stack, root, "GET", f"tenants/acme/users/reader/credentials/{acme_reader.access}")
    assert ok(shown)["status"] == "active"
    for text in (shown.text, json.dumps(listed), json.dumps(users)):
        assert "secret" not in text and acme_reader.secret not in text, text


def test_each_tenant_has_its_own_photos(stack, root, keys, tmp_path):
    for t in TENANTS:
        other = "globex" if t == "acme" else "acme"
        for kind in KINDS:
            c = client(stack, keys[(t, kind)])
            if kind != "writer":
                assert c.get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == f"{t}'s cat".encode()
                assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["photos"]
                listed = c.list_objects_v2(Bucket="photos").get("Contents", [])
                assert [(o["Key"], o["Size"]) for o in listed] == [("cat.jpg", len(f"{t}'s cat"))], listed
        got = aws(stack, keys[(t, "reader")], tmp_path, "s3", "cp", "s3://photos/cat.jpg", "-").stdout
        assert got == f"{t}'s cat" and other not in got, got
    # The default tenant has no photos at all.
    r = client(stack, root)
    assert "photos" not in [b["Name"] for b in r.list_buckets()["Buckets"]]
    assert code(lambda: r.get_object(Bucket="photos", Key="cat.jpg")) == "NoSuchBucket"
    # A tenant's own name again is BucketAlreadyOwnedByYou, for any of its users allowed to create.
    assert code(lambda: client(stack, keys[("acme", "admin")]).create_bucket(Bucket="photos")) \
        == "BucketAlreadyOwnedByYou"
    listing = aws(stack, keys[("globex", "reader")], tmp_path, "s3api", "list-buckets").stdout
    assert [b["Name"] for b in json.loads(listing)["Buckets"]] == ["photos"], listing


def test_reader_reads_and_nothing_else(stack, keys, tmp_path):
    reader, boss = keys[("acme", "reader")], client(stack, keys[("acme", "admin")])
    c = client(stack, reader)
    # Allowed: every read.
    assert c.head_object(Bucket="photos", Key="cat.jpg")["ContentLength"] == len("acme's cat")
    c.head_bucket(Bucket="photos")
    assert c.get_object_tagging(Bucket="photos", Key="cat.jpg")["TagSet"] == []
    c.get_bucket_location(Bucket="photos")
    assert c.get_bucket_acl(Bucket="photos")["Owner"]["DisplayName"] == "admin"
    assert c.list_multipart_uploads(Bucket="photos").get("Uploads", []) == []
    assert "cat.jpg" in aws(stack, reader, tmp_path, "s3", "ls", "s3://photos/").stdout
    aws(stack, reader, tmp_path, "s3", "cp", "s3://photos/cat.jpg", str(tmp_path / "cat.jpg"))
    assert (tmp_path / "cat.jpg").read_bytes() == b"acme's cat"

    # Denied: every write, with nothing stored or removed.
    denied(lambda: c.put_object(Bucket="photos", Key="new.jpg", Body=b"x"))
    denied(lambda: c.copy_object(Bucket="photos", Key="copy.jpg", CopySource="photos/cat.jpg"))
    denied(lambda: c.create_multipart_upload(Bucket="photos", Key="mp.jpg"))
    denied(lambda: c.put_object_tagging(Bucket="photos", Key="cat.jpg",
                                        Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}))
    denied(lambda: c.put_bucket_tagging(Bucket="photos", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}))
    denied(lambda: c.delete_object(Bucket="photos", Key="cat.jpg"))
    denied(lambda: c.delete_bucket(Bucket="photos"))
    denied(lambda: c.create_bucket(Bucket="reader-bucket"))
    gone = c.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": "cat.jpg"}]})
    assert [e["Code"] for e in gone.get("Errors", [])] == ["AccessDenied"] and not gone.get("Deleted"), gone
    (tmp_path / "up.txt").write_bytes(b"upload")
    up = aws(stack, reader, tmp_path, "s3", "cp", str(tmp_path / "up.txt"), "s3://photos/up.txt", check=False)
    assert up.returncode != 0 and "AccessDenied" in up.stderr, up.stderr
    put = aws(stack, reader, tmp_path, "s3api", "put-object", "--bucket", "photos", "--key", "api.txt",
              "--body", str(tmp_path / "up.txt"), check=False)
    assert put.returncode != 0 and "AccessDenied" in put.stderr, put.stderr
    rm = aws(stack, reader, tmp_path, "s3", "rm", "s3://photos/cat.jpg", check=False)
    assert rm.returncode != 0 and "AccessDenied" in rm.stderr, rm.stderr

    for k in ("new.jpg", "copy.jpg", "mp.jpg", "up.txt", "api.txt"):
        assert missing(boss, "photos", k), k
    assert boss.get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"acme's cat"
    assert boss.get_object_tagging(Bucket="photos", Key="cat.jpg")["TagSet"] == []
    assert boss.list_multipart_uploads(Bucket="photos").get("Uploads", []) == []
    assert code(lambda: boss.get_bucket_tagging(Bucket="photos")) == "NoSuchTagSet"
    assert code(lambda: boss.head_bucket(Bucket="reader-bucket")) == "404"


def test_writer_limited_to_its_prefix(stack, keys, tmp_path):
    writer, boss = keys[("acme", "writer")], client(stack, keys[("acme", "admin")])
    c = client(stack, writer)
    # Allowed: writing, reading and listing under photos/uploads/ — boto3, a multipart upload and
    # the aws CLI.
    c.put_object(Bucket="photos", Key="uploads/a.jpg", Body=b"written")
    assert c.get_object(Bucket="photos", Key="uploads/a.jpg")["Body"].read() == b"written"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * 1024 * 1024))
    c.upload_file(str(big), "photos", "uploads/big.bin",
                  Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    assert boss.head_object(Bucket="photos", Key="uploads/big.bin")["ETag"].endswith('-3"')
    small = tmp_path / "small.txt"
    small.write_bytes(b"from the cli")
    aws(stack, writer, tmp_path, "s3", "cp", str(small), "s3://photos/uploads/small.txt")
    aws(stack, writer, tmp_path, "s3", "cp", "s3://photos/uploads/big.bin", str(tmp_path / "big.back"))
    assert (tmp_path / "big.back").read_bytes() == big.read_bytes()
    listed = [o["Key"] for o in c.list_objects_v2(Bucket="photos", Prefix="uploads/")["Contents"]]
    assert listed == ["uploads/a.jpg", "uploads/big.bin", "uploads/small.txt"], listed
    ls = aws(stack, writer, tmp_path, "s3", "ls", "s3://photos/uploads/").stdout
    assert "small.txt" in ls and "cat.jpg" not in ls, ls

    # Denied: anything outside the prefix, and every action it was not given.
    denied(lambda: c.put_object(Bucket="photos", Key="top.jpg", Body=b"x"))
    denied(lambda: c.put_object(Bucket="photos", Key="uploadsX/a.jpg", Body=b"x"))
    denied(lambda: c.get_object(Bucket="photos", Key="cat.jpg"))
    denied(lambda: c.list_objects_v2(Bucket="photos"))
    denied(lambda: c.list_objects_v2(Bucket="photos", Prefix="up"))
    denied(lambda: c.delete_object(Bucket="photos", Key="uploads/a.jpg"))
    denied(lambda: c.list_buckets())
    denied(lambda: c.create_bucket(Bucket="writer-bucket"))
    denied(lambda: c.copy_object(Bucket="photos", Key="uploads/stolen.jpg", CopySource="photos/cat.jpg"))
    denied(lambda: c.create_multipart_upload(Bucket="photos", Key="big-outside.bin"))
    assert code(lambda: c.head_bucket(Bucket="photos")) == "403"
    out = aws(stack, writer, tmp_path, "s3", "cp", str(small), "s3://photos/other.txt", check=False)
    assert out.returncode != 0 and "AccessDenied" in out.stderr, out.stderr
    ls = aws(stack, writer, tmp_path, "s3", "ls", "s3://photos/", check=False)
    assert ls.returncode != 0 and "AccessDenied" in ls.stderr and "cat.jpg" not in ls.stdout, ls.stdout + ls.stderr

    for k in ("top.jpg", "uploadsX/a.jpg", "uploads/stolen.jpg", "big-outside.bin", "other.txt"):
        assert missing(boss, "photos", k), k
    assert boss.get_object(Bucket="photos", Key="uploads/a.jpg")["Body"].read() == b"written"
    assert code(lambda: boss.head_bucket(Bucket="writer-bucket")) == "404"
    assert boss.list_multipart_uploads(Bucket="photos").get("Uploads", []) == []
    # globex's writer wrote nothing into acme's photos, and cannot.
    g = client(stack, keys[("globex", "writer")])
    g.put_object(Bucket="photos", Key="uploads/a.jpg", Body=b"globex wrote")
    assert boss.get_object(Bucket="photos", Key="uploads/a.jpg")["Body"].read() == b"written"


def test_tenant_admin_manages_only_its_own_tenant(stack, root, keys):
    boss = keys[("acme", "admin")]
    # Its own tenant: users, keys and permissions.
    assert ok(admin(stack, boss, "GET", "tenants/acme"))["id"] == "acme"
    assert {u["name"] for u in ok(admin(stack, boss, "GET", "tenants/acme/users"))["items"]} \
        == {"admin", "reader", "writer"}
    temp = new_user(stack, boss, "acme", "temp", {"s3:GetObject": ["photos"]})
    assert client(stack, temp).get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"acme's cat"
    ok(admin(stack, boss, "PATCH", "tenants/acme/users/temp", {"permissions": {"s3:ListBucket": ["photos"]}}))
    ok(admin(stack, boss, "PATCH", f"tenants/acme/users/temp/credentials/{temp.access}", {"status": "inactive"}))
    ok(admin(stack, boss, "DELETE", "tenants/acme/users/temp"), 204)
    temp_client = client(stack, temp)
    wait_until(lambda: all(error_of(lambda: temp_client.list_objects_v2(Bucket="photos")) == "InvalidAccessKeyId"
                           for _ in range(4)), CHANGE_BOUND, "the deleted user's key to stop working")
    # Even a user it creates with admin:* on everything stays inside acme.
    escalated = new_user(stack, boss, "acme", "escalated", {"admin:*": ["*"], "s3:*": ["*"]})

    for who in (boss, escalated):
        admin_denied(admin(stack, who, "GET", "tenants"))
        admin_denied(admin(stack, who, "POST", "tenants", {"id": "evil"}))
        admin_denied(admin(stack, who, "GET", "tenants/globex"))
        admin_denied(admin(stack, who, "DELETE", "tenants/acme"))
        admin_denied(admin(stack, who, "GET", "tenants/globex/users"))
        admin_denied(admin(stack, who, "POST", "tenants/globex/users", {"name": "mole", "permissions": {}}))
        admin_denied(admin(stack, who, "PATCH", "tenants/globex/users/reader", {"permissions": TENANT_ADMIN}))
        admin_denied(admin(stack, who, "POST", "tenants/globex/users/reader/credentials"))
        admin_denied(admin(stack, who, "GET", "tenants/default/users"))
        admin_denied(admin(stack, who, "POST", "tenants/default/users/root/credentials"))
    # A user without admin permissions manages nothing, not even its own tenant.
    admin_denied(admin(stack, keys[("acme", "reader")], "GET", "tenants/acme/users"))
    admin_denied(admin(stack, keys[("acme", "writer")], "POST", "tenants/acme/users/writer/credentials"))

    # Nothing of that happened, as the gateway's root sees it.
    assert admin(stack, root, "GET", "tenants/evil").status_code == 404
    assert admin(stack, root, "GET", "tenants/globex/users/mole").status_code == 404
    assert ok(admin(stack, root, "GET", "tenants/globex/users/reader"))["permissions"] == READER
    assert len(ok(admin(stack, root, "GET", "tenants/globex/users/reader/credentials"))["items"]) == 1
    assert len(ok(admin(stack, root, "GET", "tenants/default/users/root/credentials"))["items"]) == 1
    assert len(ok(admin(stack, root, "GET", "tenants/acme/users/writer/credentials"))["items"]) == 1
    ok(admin(stack, root, "DELETE", "tenants/acme/users/escalated"), 204)


def test_presigned_url_of_a_deactivated_key_stops_working(stack, keys):
    boss = keys[("acme", "admin")]
    viewer = new_user(stack, boss, "acme", "viewer", {"s3:GetObject": ["photos"]})
    url = client(stack, viewer).generate_presigned_url(
        "get_object", Params={"Bucket": "photos", "Key": "cat.jpg"}, ExpiresIn=600)
    record_signature(None, url)
    assert requests.get(url, timeout=10).content == b"acme's cat"

    path = f"tenants/acme/users/viewer/credentials/{viewer.access}"
    assert ok(admin(stack, boss, "PATCH", path, {"status": "inactive"}))["status"] == "inactive"
    started = time.monotonic()

    def refused():
        # Every worker must refuse it: a few requests in a row, all 403.
        return all(requests.get(url, timeout=10).status_code == 403 for _ in range(6))

    wait_until(refused, CHANGE_BOUND, "the deactivated key's presigned URL to be refused")
    assert time.monotonic() - started < CHANGE_BOUND
    r = requests.get(url, timeout=10)
    assert "<Code>InvalidAccessKeyId</Code>" in r.text and "acme's cat" not in r.text, r.text
    assert code(lambda: client(stack, viewer).get_object(Bucket="photos", Key="cat.jpg")) == "InvalidAccessKeyId"

    ok(admin(stack, boss, "PATCH", path, {"status": "active"}))
    wait_until(lambda: all(requests.get(url, timeout=10).status_code == 200 for _ in range(6)), CHANGE_BOUND,
               "the reactivated key's presigned URL to work again")


def test_permission_change_takes_effect_without_restart(stack, keys):
    boss, boss_client = keys[("acme", "admin")], client(stack, keys[("acme", "admin")])
    changer = new_user(stack, boss, "acme", "changer", {"s3:GetObject": ["photos"]})
    c = client(stack, changer)
    workers = set(stack.worker_pids())
    denied(lambda: c.put_object(Bucket="photos", Key="changed.txt", Body=b"x"))

    ok(admin(stack, boss, "PATCH", "tenants/acme/users/changer",
             {"permissions": {"s3:GetObject": ["photos"], "s3:PutObject": ["photos/changed*"]}}))

    def can_put():
        error = error_of(lambda: c.put_object(Bucket="photos", Key="changed.txt", Body=b"allowed now"))
        assert error in (None, "AccessDenied"), error
        return error is None

    wait_until(lambda: all(can_put() for _ in range(4)), CHANGE_BOUND, "the granted PutObject to take effect")
    assert boss_client.get_object(Bucket="photos", Key="changed.txt")["Body"].read() == b"allowed now"

    ok(admin(stack, boss, "PATCH", "tenants/acme/users/changer", {"permissions": {"s3:GetObject": ["photos"]}}))
    wait_until(lambda: not any(can_put() for _ in range(4)), CHANGE_BOUND, "the revoked PutObject to take effect")
    assert set(stack.worker_pids()) == workers, "the workers were restarted"
    boss_client.delete_object(Bucket="photos", Key="changed.txt")


def test_two_keys_for_rotation_and_a_rotated_secret(stack, keys):
    boss = keys[("globex", "admin")]
    first = new_user(stack, boss, "globex", "rotating", {"s3:GetObject": ["photos"]})
    second = new_key(stack, boss, "globex", "rotating")
    for k in (first, second):
        assert client(stack, k).get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"globex's cat"
    # Two at once, not three.
    assert admin(stack, boss, "POST", "tenants/globex/users/rotating/credentials").status_code == 409

    rotated = ok(admin(stack, boss, "POST", f"tenants/globex/users/rotating/credentials/{first.access}/rotate"))
    assert rotated["access_key"] == first.access and rotated["secret_key"] not in (first.secret, None)
    SECRETS.append(rotated["secret_key"])
    old = client(stack, first)
    wait_until(lambda: all(error_of(lambda: old.get_object(Bucket="photos", Key="cat.jpg")) == "SignatureDoesNotMatch"
                           for _ in range(4)), CHANGE_BOUND, "the replaced secret to stop working")
    new = client(stack, Key("globex", "rotating", first.access, rotated["secret_key"]))
    assert new.get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"globex's cat"
    assert client(stack, second).get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == b"globex's cat"


def metadata_path(stack: Stack) -> Path:
    config = tomllib.loads(stack.config.read_text())
    return Path(config["server"]["state_dir"]) / "metadata.sqlite"


def test_no_secret_in_the_database_and_no_secret_or_signature_in_the_logs(stack, keys):
    """Runs after the others in this module: every key they made is in SECRETS."""
    assert len(SECRETS) >= 1 + 3 * len(TENANTS) + 4, SECRETS
    assert len(SIGNATURES) > 20, SIGNATURES
    if stack.postgres_url:
        files = ["the PostgreSQL database"]
        blob = stack.metadata_dump().encode()
        sealed = dict(line.split("\t") for line in
                      stack.metadata_sql("SELECT access_key, sealed_secret FROM credentials").splitlines())
    else:
        db = metadata_path(stack)
        files = [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if p.exists()]
        assert db in files
        blob = b"".join(p.read_bytes() for p in files)
        # The keys are there, sealed.
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            sealed = dict(conn.execute("SELECT access_key, sealed_secret FROM credentials").fetchall())
        finally:
            conn.close()
    for s in SECRETS:
        assert s.encode() not in blob, f"a secret is stored in clear in {files}"
    for k in keys.values():
        assert sealed[k.access] and k.secret not in sealed[k.access]

    log = stack.gateway_log.read_text(errors="replace")
    assert "GET /photos" in log, "the gateway log records requests (debug level)"
    errors = (stack.nginx_prefix / "error.log").read_text(errors="replace")
    for name, text in (("gateway log", log), ("nginx error log", errors)):
        for s in SECRETS:
            assert s not in text, f"a secret is in the {name}"
        for sig in SIGNATURES:
            assert sig not in text, f"a signature is in the {name}"


def test_nginx_access_log_holds_no_presigned_signature(stack, keys):
    log = (stack.nginx_prefix / "access.log").read_text(errors="replace")
    assert "/photos/cat.jpg" in log, "the access log records requests"
    for s in SECRETS:
        assert s not in log, "a secret is in nginx's access log"
    for sig in SIGNATURES:
        assert sig not in log, "a presigned URL's signature is in nginx's access log"


# -- existing installations -------------------------------------------------------------------
def test_buckets_objects_and_keys_survive_a_restart(tmp_path):
    gw = Stack("tenants-restart", workers=1).start()
    try:
        root = Key("default", "root", gw.access_key, gw.secret_key)
        r = client(gw, root)
        r.create_bucket(Bucket="kept")
        data = os.urandom(100_000)
        r.put_object(Bucket="kept", Key="obj.bin", Body=data)
        ok(admin(gw, root, "POST", "tenants", {"id": "acme"}), 201)
        user = new_user(gw, root, "acme", "admin", TENANT_ADMIN)
        client(gw, user).create_bucket(Bucket="kept")
        client(gw, user).put_object(Bucket="kept", Key="obj.bin", Body=b"acme's")
        before = gw.gateway_pid

        gw.stop()
        gw.start()
        assert gw.gateway_pid != before
        assert client(gw, root).get_object(Bucket="kept", Key="obj.bin")["Body"].read() == data
        # The tenant's key still opens (its secret is sealed under the master key in the state dir).
        assert client(gw, user).get_object(Bucket="kept", Key="obj.bin")["Body"].read() == b"acme's"
        assert [b["Name"] for b in client(gw, user).list_buckets()["Buckets"]] == ["kept"]
    finally:
        gw.stop()
        gw.cleanup()


def old_backend_name(stack: Stack, owner: str, bucket: str, zone: str) -> str:
    """BackendBucketName.derive as the release before tenants used it: keyed by the creating
    access key."""
    secret = bytes.fromhex((stack.state_dir / "installation-secret").read_text().strip())
    mac = hmac.new(secret, f"{owner}\0{bucket}\0{zone}".encode(), hashlib.sha256).hexdigest()
    return "s3gw-" + mac[:40]


def downgrade_to_migration_12(stack: Stack) -> None:
    """Turns the stopped stack's database and zone into what the release before tenants left:
    schema version 12 (no tenants, users or credentials, nor the later migrations' tables such as
    discovery_jobs or migration_runs; buckets without tenant and naming key),
    buckets owned by the root access key, backend buckets named under that key."""
    db = sqlite3.connect(metadata_path(stack))
    try:
        rows = db.execute("SELECT name, backend_bucket, zones FROM buckets").fetchall()
        for name, backend, zones in rows:
            zone = zones.split(",")[0].strip()
            old = old_backend_name(stack, stack.access_key, name, zone)
            (stack.zone_dir / "buckets" / backend).rename(stack.zone_dir / "buckets" / old)
            db.execute("UPDATE buckets SET owner = ?, backend_bucket = ? WHERE name = ?", (stack.access_key, old, name))
        for sql in ("DROP TABLE credentials", "DROP TABLE users", "DROP TABLE tenants",
                    "DROP INDEX buckets_by_tenant", "ALTER TABLE buckets DROP COLUMN naming_key",
                    "ALTER TABLE buckets DROP COLUMN tenant", "DROP TABLE IF EXISTS discovery_jobs",
                    "DROP TABLE IF EXISTS migrated_objects", "DROP TABLE IF EXISTS migration_runs",
                    "DROP TABLE IF EXISTS migration_read_through", "DROP TABLE IF EXISTS audit_log",
                    "DROP TABLE IF EXISTS audit_digests", "DROP TABLE IF EXISTS audit_keys",
                    "DROP TABLE IF EXISTS metrics_history",
                    # Access control, CORS and encryption settings (migration 22).
                    "DROP TABLE IF EXISTS kms_keys",
                    *(f"ALTER TABLE buckets DROP COLUMN {c}" for c in (
                        "policy", "acl", "ownership", "public_access_block", "cors", "encryption")),
                    *(f"ALTER TABLE {t} DROP COLUMN {c}" for t in ("objects", "uploads") for c in ("owner", "acl", "sse")),
                    "ALTER TABLE uploads DROP COLUMN initiator",
                    # Versioning (migrations 20 and 21).
                    "DROP TABLE IF EXISTS object_versions", "ALTER TABLE buckets DROP COLUMN versioning",
                    "ALTER TABLE buckets DROP COLUMN object_lock", "ALTER TABLE buckets DROP COLUMN lifecycle",
                    *(f"ALTER TABLE objects DROP COLUMN {c}" for c in (
                        "version_id", "version_seq", "delete_marker", "lock_mode", "retain_until", "legal_hold",
                        "noncurrent_since")),
                    "ALTER TABLE uploads DROP COLUMN lock",
                    "DELETE FROM schema_migrations WHERE version >= 13",
                    "DELETE FROM agent_state WHERE key IN ('identity.root-access-key', 'identity.root-families')"):
            db.execute(sql)
        db.commit()
        assert db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == 12
    finally:
        db.close()


def test_a_database_from_before_tenants_is_migrated_in_place():
    if metadata_on_postgres():
        pytest.skip("the release before tenants kept its metadata in SQLite only")
    gw = Stack("tenants-migrate", workers=1).start()
    try:
        root = Key("default", "root", gw.access_key, gw.secret_key)
        r = client(gw, root)
        r.create_bucket(Bucket="legacy")
        r.put_object(Bucket="legacy", Key="doc.txt", Body=b"written before tenants")
        r.put_object_tagging(Bucket="legacy", Key="doc.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        gw.stop()
        downgrade_to_migration_12(gw)

        gw.start()
        r = client(gw, root)
        assert r.get_object(Bucket="legacy", Key="doc.txt")["Body"].read() == b"written before tenants"
        assert r.get_object_tagging(Bucket="legacy", Key="doc.txt")["TagSet"] == [{"Key": "k", "Value": "v"}]
        assert [b["Name"] for b in r.list_buckets()["Buckets"]] == ["legacy"]
        r.put_object(Bucket="legacy", Key="new.txt", Body=b"written after")
        assert r.get_object(Bucket="legacy", Key="new.txt")["Body"].read() == b"written after"
        # The bucket is the default tenant's, owned by the root user (no longer by the access key).
        root_user = ok(admin(gw, root, "GET", "tenants/default/users/root"))
        acl = r.get_bucket_acl(Bucket="legacy")
        assert acl["Owner"] == {"ID": root_user["id"], "DisplayName": "root"}, acl
        conn = sqlite3.connect(f"file:{metadata_path(gw)}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT tenant, naming_key, owner FROM buckets WHERE name = 'legacy'").fetchone()
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        finally:
            conn.close()
        assert row == ("default", gw.access_key, root_user["id"]), row
        assert version >= 13
        # A new tenant's bucket of the same name does not touch it.
        ok(admin(gw, root, "POST", "tenants", {"id": "acme"}), 201)
        user = new_user(gw, root, "acme", "admin", TENANT_ADMIN)
        client(gw, user).create_bucket(Bucket="legacy")
        assert client(gw, user).list_objects_v2(Bucket="legacy").get("KeyCount") == 0
        assert r.get_object(Bucket="legacy", Key="doc.txt")["Body"].read() == b"written before tenants"
    finally:
        gw.stop()
        gw.cleanup()
