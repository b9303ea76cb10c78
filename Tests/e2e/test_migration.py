"""Migration end to end: a moto_server stands for an existing S3 account (several buckets, a few
thousand objects of varied sizes, multipart uploads of a few MiB, a versioned bucket, objects in
GLACIER, a bucket the snapshot could not list); a gateway has filesystem zones in Sweden (the
default), Finland (two) and Germany. `s3gw migrate plan` places the buckets only in the allowed
countries and names what cannot be placed; `s3gw migrate run` copies everything byte for byte
into Finnish and German zones only, survives a Ctrl-C and a SIGKILL without reading an object
twice (moto's request log counts every GetObject), serves a not-yet-copied key to a client while
it runs (read-through), and leaves the source credentials nowhere."""

import concurrent.futures
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from conftest import ROOT, Moto, Stack, filesystem_zone, s3_client, s3gw_bin, wait_until

# Unique strings: the test greps everything for them afterwards.
SOURCE_KEY = "AKIAMIGRATIONSRC7Q2X"
SOURCE_SECRET = "mIgRaTiOn/SeCrEt+9a8b7c6d5e4f3g2h1i0jKLMN"
SOURCE_TOKEN = "FwoGZXIvYXdzEMIGRATIONSESSIONTOKEN0123456789abcdef"
MiB = 1 << 20
SNAPSHOT_SCHEMA = json.loads((ROOT / "docs" / "snapshot.schema.json").read_text())
PLAN_SCHEMA = json.loads((ROOT / "docs" / "migration-plan.schema.json").read_text())
ARCHIVED = 10
KMS_KEY = "kms/report.txt"


def body(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture(scope="module")
def source():
    """The existing account, filled once for the module."""
    import boto3
    from boto3.s3.transfer import TransferConfig

    m = Moto("moto-migration-source")
    s3 = m.client()
    objects = {}  # (bucket, key) -> (bytes, extra put args)

    def plan(bucket, key, data, **extra):
        objects[(bucket, key)] = (data, extra)

    for b in ["archive", "logs", "photos", "versioned", "secret"]:
        s3.create_bucket(Bucket=b)
    for i in range(1200):
        extra = {"ContentType": "image/jpeg"}
        if i % 3 == 0:
            extra["Metadata"] = {"camera": f"cam-{i % 7}", "shot": str(i)}
        if i % 5 == 0:
            extra["CacheControl"] = "max-age=3600"
        plan("photos", f"img/{i:04d}.jpg", body(f"photos/{i}", (i * 7919) % (48 * 1024)), **extra)
    plan("photos", "dir with space/ä ö.txt", b"unicode and spaces", ContentType="text/plain; charset=utf-8")
    for i in range(1000):
        plan("logs", f"2024/{i % 12 + 1:02d}/{i:04d}.log", body(f"logs/{i}", 100 + i % 900), ContentType="text/plain")
    for i in range(5):
        plan("archive", f"standard/{i}", body(f"archive/s{i}", 1000))
    for i in range(ARCHIVED):
        plan("archive", f"glacier/{i}", body(f"archive/g{i}", 2000), StorageClass="GLACIER")
    plan("secret", "hidden.txt", b"the snapshot could not list this bucket")
    # SSE-KMS: S3's ETag is then no MD5 of the bytes (moto's is, but says aws:kms all the same).
    plan("logs", KMS_KEY, body("logs/kms", 4000), ContentType="text/plain", ServerSideEncryption="aws:kms")

    def put(item):
        (bucket, key), (data, extra) = item
        s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, objects.items()))
    # Multipart uploads of a few MiB: 5 MiB parts (their ETags are "<md5>-<parts>").
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    for i, size in enumerate([6 * MiB, 11 * MiB + 12345, 16 * MiB]):
        key = f"video/{i}.mp4"
        data = body(key, size)
        s3.upload_fileobj(__import__("io").BytesIO(data), "photos", key, Config=cfg,
                          ExtraArgs={"ContentType": "video/mp4"})
        objects[("photos", key)] = (data, {"ContentType": "video/mp4"})
    # Versions: only each key's current one is copied; a deleted key is not.
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    for i in range(200):
        key = f"doc/{i:03d}"
        s3.put_object(Bucket="versioned", Key=key, Body=b"old " + key.encode())
        data = body(f"versioned/{i}", 500 + i)
        s3.put_object(Bucket="versioned", Key=key, Body=data)
        objects[("versioned", key)] = (data, {})
    s3.put_object(Bucket="versioned", Key="gone", Body=b"deleted later")
    s3.delete_object(Bucket="versioned", Key="gone")
    s3.put_object(Bucket="versioned", Key="zz-late-key", Body=b"read through before the copy got here")
    objects[("versioned", "zz-late-key")] = (b"read through before the copy got here", {})
    m.objects_planned = objects
    yield m
    m.cleanup()


def snapshot_of(s3, endpoint_host: str) -> dict:
    """The source inventoried as a discovery snapshot at level `prefixes` would be (schema v1)."""
    buckets = []
    for name in ["archive", "logs", "photos", "versioned", "secret"]:
        statuses = {k: "unknown" for k in ["versioning", "encryption", "lifecycle", "replication", "object_lock",
                                          "policy"]}
        summary = {"object_count": 0, "total_bytes": 0, "storage_classes": [], "last_modified": [],
                   "top_prefixes": []}
        hist = [[0, 1, 0, 0]] + [[4 ** (i - 1), 4 ** i, 0, 0] for i in range(1, 22)] + [[4 ** 21, None, 0, 0]]
        if name == "secret":
            listing = "access_denied"
        else:
            listing = "complete"
            statuses["versioning"] = "enabled" if name == "versioned" else "disabled"
            classes, months, prefixes = Counter(), {}, {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for o in page.get("Contents", []):
                    size, sc = o["Size"], o.get("StorageClass", "STANDARD")
                    summary["object_count"] += 1
                    summary["total_bytes"] += size
                    classes[sc, "o"] += 1
                    classes[sc, "b"] += size
                    month = o["LastModified"].astimezone(timezone.utc).strftime("%Y-%m")
                    months.setdefault(month, [0, 0])
                    months[month][0] += 1
                    months[month][1] += size
                    prefix = "/".join(o["Key"].split("/")[:2]) + "/" if o["Key"].count("/") >= 2 else (
                        o["Key"].split("/")[0] + "/" if "/" in o["Key"] else "")
                    prefixes.setdefault(prefix, [0, 0])
                    prefixes[prefix][0] += 1
                    prefixes[prefix][1] += size
                    for h in hist:
                        if size >= h[0] and (h[1] is None or size < h[1]):
                            h[2] += 1
                            h[3] += size
            summary["storage_classes"] = [{"storage_class": c, "objects": classes[c, "o"], "bytes": classes[c, "b"]}
                                          for c in sorted({c for c, _ in classes})]
            summary["last_modified"] = [{"month": m, "objects": v[0], "bytes": v[1]} for m, v in sorted(months.items())]
            summary["top_prefixes"] = [
                {"prefix": p, "objects": v[0], "bytes": v[1], "objects_error": 0, "bytes_error": 0}
                for p, v in sorted(prefixes.items(), key=lambda kv: -kv[1][1])[:25]]
        summary["size_histogram"] = [{"min_bytes": a, "max_bytes": b, "objects": n, "bytes": s} for a, b, n, s in hist]
        buckets.append({"name": name, "region": "us-east-1", "listing": listing, "statuses": statuses,
                        "summary": summary})
    return {"schema_version": 1,
            "snapshot": {"id": "snap-e2e-migration", "created_at": datetime.now(timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"), "source": {"endpoint_host": endpoint_host, "region": "us-east-1"},
                "sanitization": "prefixes", "prefix_depth": 2},
            "buckets": buckets}


@pytest.fixture(scope="module")
def gw(source):
    stack = Stack("migration", workers=2)
    zones = "".join(filesystem_zone(n, c, r, f"{stack.tmp}/zones/{n}") for n, c, r in [
        ("fi-hel-1", "fi", "fi-hel"), ("fi-hel-2", "fi", "fi-hel"), ("de-fra-1", "de", "de-fra")])
    # Only Finland's first zone has a price: the plan's cost is partial.
    zones = zones.replace('name = "fi-hel-1"\n', 'name = "fi-hel-1"\nprice_per_gb_month = 0.02\n')
    stack.extra = zones + f"""
[discovery]
endpoints = ["http://127.0.0.1:{source.port}"]

[migration]
bandwidth_mbps = 50

[replication]
workers = 2
"""
    stack.source_port = source.port
    for n in ["fi-hel-1", "fi-hel-2", "de-fra-1"]:
        (stack.tmp / "zones" / n).mkdir(parents=True, exist_ok=True)
    stack.start()
    stack.work = stack.tmp / "migration-work"
    stack.work.mkdir()
    yield stack
    stack.stop()
    stack.cleanup()


def migrate(gw, *args, env=None, **kw):
    return subprocess.run([str(s3gw_bin()), "migrate", *map(str, args), "--config", str(gw.config)],
                          capture_output=True, text=True, timeout=kw.pop("timeout", 600), env=env, **kw)


def source_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("S3GW_")}
    env.update(AWS_ACCESS_KEY_ID=SOURCE_KEY, AWS_SECRET_ACCESS_KEY=SOURCE_SECRET, AWS_SESSION_TOKEN=SOURCE_TOKEN)
    return env


def object_gets(source, since: int = 0) -> Counter:
    """GetObject requests moto answered, per (bucket, key), from its request log (from byte `since`)."""
    counts = Counter()
    text = source.log.read_bytes()[since:].decode(errors="replace")
    for m in re.finditer(r'"GET /([^/?" ]+)/([^?" ]+) HTTP/1\.1" (\d+)', text):
        counts[m.group(1), urllib.parse.unquote(m.group(2))] += 1
    return counts


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().endswith("}")]


@pytest.fixture(scope="module")
def plan_file(gw, source):
    snap = snapshot_of(source.client(), f"127.0.0.1:{source.port}")
    assert list(Draft202012Validator(SNAPSHOT_SCHEMA, format_checker=FormatChecker()).iter_errors(snap)) == []
    path = gw.work / "snapshot.json"
    path.write_text(json.dumps(snap))
    out = gw.work / "plan.json"
    r = migrate(gw, "plan", path, "--constraint", "fi,de", "--replicas", "2", "--json", "-o", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(out.read_text())
    return out


def test_plan_places_buckets_only_in_allowed_countries(gw, plan_file):
    plan = json.loads(plan_file.read_text())
    assert list(Draft202012Validator(PLAN_SCHEMA, format_checker=FormatChecker()).iter_errors(plan)) == []
    assert [b["target_bucket"] for b in plan["buckets"]] == ["archive", "logs", "photos", "versioned"]
    for b in plan["buckets"]:
        assert b["zones"] == ["fi-hel-1", "de-fra-1"], b
        assert b["countries"] == ["de", "fi"]
        assert "local-1" not in b["allowed_zones"]
    assert [(u["source_bucket"], u["reason"]) for u in plan["unplaceable"]] == [("secret", "listing_access_denied")]
    photos = next(b for b in plan["buckets"] if b["source_bucket"] == "photos")
    assert photos["objects"] == 1204
    archive = next(b for b in plan["buckets"] if b["source_bucket"] == "archive")
    assert (archive["objects"], archive["archived_objects"]) == (5, ARCHIVED)
    assert any("versioning is enabled" in n for n in next(
        b for b in plan["buckets"] if b["source_bucket"] == "versioned")["notes"])
    assert {z["zone"]: z["country"] for z in plan["zones"]} == {"fi-hel-1": "fi", "de-fra-1": "de"}
    assert [c["country"] for c in plan["countries"]] == ["de", "fi"]
    assert plan["zones"][0]["price_per_gb_month"] == 0.02 and plan["zones"][1]["monthly_cost"] is None
    assert plan["totals"]["stored_bytes"] == 2 * plan["totals"]["bytes"]
    assert plan["totals"]["transfer_seconds"] == pytest.approx(plan["totals"]["bytes"] * 8 / 50e6)
    # The plan is kept under the state directory, by tenant and id.
    assert (gw.state_dir / "plans" / "default" / f"{plan['plan']['id']}.json").exists()

    # The summary a person reads; and a constraint the catalog cannot meet, bucket by bucket.
    text = migrate(gw, "plan", gw.work / "snapshot.json", "--constraint", "de", "--replicas", "2",
                   "--bucket-constraint", "logs=fi")
    assert text.returncode == 0, text.stderr
    assert "logs" in text.stdout and "fi-hel-1,fi-hel-2" in text.stdout
    assert "photos (too_few_zones): the constraint 'de' allows 1 zone (de-fra-1); 2 copies need 2" in text.stdout
    assert "secret (listing_access_denied)" in text.stdout
    bad = migrate(gw, "plan", gw.work / "snapshot.json", "--constraint", "fi,xx", "--json")
    assert bad.returncode == 0, bad.stderr
    assert {u["reason"] for u in json.loads(bad.stdout)["unplaceable"]} == {
        "invalid_constraint", "listing_access_denied"}


def start_run(gw, plan_file, report, *extra):
    """`s3gw migrate run` in the background; the source's scheme is the allow-list's (http) unless
    --source-endpoint is among `extra`."""
    err = open(report.with_suffix(".stderr"), "w")
    out = open(report.with_suffix(".stdout"), "w")
    return subprocess.Popen(
        [str(s3gw_bin()), "migrate", "run", str(plan_file), "--config", str(gw.config), "--report", str(report),
         *extra], stdout=out, stderr=err, env=source_env(), start_new_session=True)


def copied(report: Path) -> list[tuple[str, str]]:
    return [(e["bucket"], e["key"]) for e in events(report) if e["outcome"] == "copied"]


def test_an_interrupted_run_resumes_and_copies_nothing_twice(gw, source, plan_file):
    s3 = s3_client(gw)
    # Run 1, with read-through: a client reads a key of the last bucket before the copy gets there.
    r1 = gw.work / "run1.jsonl"
    p1 = start_run(gw, plan_file, r1, "--read-through", "--parallel", "2", "--source-endpoint",
                   f"http://127.0.0.1:{source.port}")
    try:
        wait_until(lambda: len(copied(r1)) >= 100, 120, "run 1 to copy 100 objects")
        assert not any(b == "versioned" for b, _ in copied(r1)), "the copy is not at the last bucket yet"
        got = s3.get_object(Bucket="versioned", Key="zz-late-key")
        assert got["Body"].read() == b"read through before the copy got here"
        assert s3.head_object(Bucket="versioned", Key="zz-late-key")["ContentLength"] == 37
        with pytest.raises(Exception) as missing:
            s3.get_object(Bucket="versioned", Key="not-at-the-source-either")
        assert "NoSuchKey" in str(missing.value)
        p1.send_signal(signal.SIGINT)
        assert p1.wait(60) == 130
    finally:
        if p1.poll() is None:
            p1.kill()
    assert "stopping" in r1.with_suffix(".stderr").read_text()
    done1 = set(copied(r1))
    after1 = source.log.stat().st_size
    assert any(e["outcome"] == "read-through" and e["key"] == "zz-late-key" for e in events(r1))
    # Its route ended with it: a miss is a plain NoSuchKey, not a wait.
    with pytest.raises(Exception) as missing:
        s3.get_object(Bucket="photos", Key="img/not-there.jpg")
    assert "NoSuchKey" in str(missing.value)

    # Run 2 is killed outright part way.
    r2 = gw.work / "run2.jsonl"
    p2 = start_run(gw, plan_file, r2, "--parallel", "2")
    try:
        wait_until(lambda: len(copied(r2)) >= 300, 180, "run 2 to copy 300 objects")
        p2.kill()
        p2.wait(30)
    finally:
        if p2.poll() is None:
            p2.kill()
    assert not set(copied(r2)) & done1, "run 2 copied nothing run 1 had copied"
    after2 = source.log.stat().st_size

    # Run 3 finishes; only the archived objects are left, with their reason.
    r3 = gw.work / "run3.jsonl"
    p3 = start_run(gw, plan_file, r3, "--json")
    assert p3.wait(900) == 3, r3.with_suffix(".stderr").read_text()[-3000:]
    report = json.loads(r3.with_suffix(".stdout").read_text())
    assert report["state"] == "done"
    assert report["objects_skipped"] == ARCHIVED
    assert {s["reason"] for s in report["skipped"]} == {
        "in an archive storage class (GLACIER, DEEP_ARCHIVE): restore it at the source first"}
    assert report["objects_present"] >= len(done1) + len(copied(r2))
    assert report["verification"].get("multipart-etag", 0) + report["verification"].get("md5", 0) >= 1
    assert "objects" in r3.with_suffix(".stderr").read_text(), "a progress line"

    # Every object was read once; only the few abandoned at an interruption (at most --parallel
    # each time) were read again. None an earlier run had copied was read after it.
    gets = object_gets(source)
    expected = {k for k in source.objects_planned if k[0] not in ("secret",) and not k[1].startswith("glacier/")}
    assert expected <= set(gets), sorted(expected - set(gets))[:5]
    twice = {k: n for k, n in gets.items() if n > 1 and not k[1].startswith("glacier/")}
    assert len(twice) <= 4, twice
    assert not set(object_gets(source, after1)) & done1, "what run 1 copied was never read again"
    assert not set(object_gets(source, after2)) & set(copied(r2)), "what run 2 copied was never read again"
    assert gets["versioned", "zz-late-key"] == 1
    # The SSE-KMS object was checked by its checksum (or size), never by its ETag as an MD5.
    kms = [e for r in (r1, r2, r3) for e in events(r) if e["key"] == KMS_KEY and e["outcome"] == "copied"]
    assert len(kms) == 1 and kms[0]["verification"] != "md5", kms
    assert kms[0]["verification"].startswith("checksum-") or kms[0]["verification"] == "size", kms
    # A fourth run reads nothing at all.
    before = sum(gets.values())
    r4 = migrate(gw, "run", plan_file, "--json", env=source_env())
    assert r4.returncode == 3, r4.stderr
    assert json.loads(r4.stdout)["objects_copied"] == 0
    assert sum(object_gets(source).values()) - before == ARCHIVED, "only the archived objects are tried again"


def test_everything_arrived_byte_for_byte(gw, source):
    s3 = s3_client(gw)
    for (bucket, key), (data, extra) in source.objects_planned.items():
        if bucket == "secret" or key.startswith("glacier/"):
            continue
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data, (bucket, key)
        assert got["ContentType"] == extra.get("ContentType", "binary/octet-stream"), (bucket, key)
        assert got["Metadata"] == extra.get("Metadata", {}), (bucket, key)
        if "CacheControl" in extra:
            assert got["CacheControl"] == extra["CacheControl"]
    # The copy is the gateway's own: the source's encryption is not claimed for it.
    assert "ServerSideEncryption" not in s3.head_object(Bucket="logs", Key=KMS_KEY)
    listed = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="versioned")
              for o in page.get("Contents", [])}
    assert "gone" not in listed and len(listed) == 201
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert names == {"archive", "logs", "photos", "versioned"}
    for b in names:
        assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] == "fi,de"


def test_bytes_are_only_in_zones_of_the_allowed_countries(gw):
    def blobs(zone):
        root = gw.tmp / "zones" / zone / "buckets"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

    assert blobs("local-1") == [], "nothing in Sweden"
    assert len(blobs("fi-hel-1")) >= 2400
    assert blobs("fi-hel-2") == [], "the second copy goes to Germany, not to Finland's second zone"
    # The second copy of each object is the agent's, through the replication queue.
    wait_until(lambda: len(blobs("de-fra-1")) >= 2400, 300, "the replicas in Germany")


WEB_API = __import__("yaml").safe_load((ROOT / "docs" / "web-api.yaml").read_text())


def documented(name: str, value) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": WEB_API["components"]}
    assert [e.message for e in Draft202012Validator(schema).iter_errors(value)] == [], name


def api(gw, method, path, body=None, keys=None):
    import requests

    from admin_api import SigV4

    data = json.dumps(body).encode() if body is not None else b""
    return requests.request(method, gw.http_url + "/api/" + path, data=data,
                            headers={"Content-Type": "application/json"} if data else {},
                            auth=SigV4(*(keys or (gw.access_key, gw.secret_key))), timeout=60)


def test_two_copies_need_an_administrator(gw, source):
    """A plan of two copies per object sets the targets' replica-count, a gateway administrator's
    right: a run by another user is refused at once (CLI and API), before the source is asked
    for anything or a bucket is created."""
    from admin_cli import cli, fields

    perms = json.dumps({"migration:*": ["default"], "s3:*": ["*"]})
    cli(gw, "users", "create", "default", "mover", "--permissions", perms)
    shown = fields(cli(gw, "credentials", "create", "default", "mover").stdout)
    keys = shown["access key"], shown["secret key"]
    out = gw.work / "plan-m.json"
    r = migrate(gw, "plan", gw.work / "snapshot.json", "--constraint", "fi,de", "--replicas", "2",
                "--bucket-prefix", "m-", "--json", "-o", out)
    assert r.returncode == 0, r.stderr
    plan_id = json.loads(out.read_text())["plan"]["id"]
    before = source.log.stat().st_size
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3GW_"))}
    env.update(S3GW_ADMIN_ACCESS_KEY=keys[0], S3GW_ADMIN_SECRET_KEY=keys[1])
    # No source credentials and no terminal: refused before they would be asked for.
    refused = migrate(gw, "run", out, env=env, start_new_session=True)
    assert refused.returncode == 1, refused.stderr
    assert "AccessDenied" in refused.stderr and "admin:UpdateBucket" in refused.stderr, refused.stderr
    assert "m-photos (1 → 2)" in refused.stderr, refused.stderr
    started = api(gw, "POST", "migration/runs", {"plan_id": plan_id, "access_key_id": SOURCE_KEY,
                                                  "secret_access_key": SOURCE_SECRET}, keys=keys)
    assert started.status_code == 403, started.text
    documented("Error", started.json())
    error = started.json()["error"]
    assert error["code"] == "AccessDenied" and "admin:UpdateBucket" in error["message"], error
    assert source.log.stat().st_size == before, "the source was not asked anything"
    assert not any(b["Name"].startswith("m-") for b in s3_client(gw).list_buckets()["Buckets"])


def test_the_api_plans_and_runs_in_a_worker(gw, source, plan_file):
    """What the UI does: a plan from a stored snapshot, a run on a worker's thread (the source's
    scheme found through the allow-list), its progress read back until it is done."""
    stored = gw.state_dir / "snapshots" / "default" / "snap-e2e-migration.json"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes((gw.work / "snapshot.json").read_bytes())
    made = api(gw, "POST", "migration/plans", {"snapshot_id": "snap-e2e-migration", "constraint": "fi",
                                                "bucket_prefix": "api-"})
    assert made.status_code == 201, made.text
    plan = made.json()
    assert list(Draft202012Validator(PLAN_SCHEMA, format_checker=FormatChecker()).iter_errors(plan)) == []
    assert [b["target_bucket"] for b in plan["buckets"]] == ["api-archive", "api-logs", "api-photos", "api-versioned"]
    assert api(gw, "GET", f"migration/plans/{plan['plan']['id']}").json() == plan
    started = api(gw, "POST", "migration/runs", {"plan_id": plan["plan"]["id"], "access_key_id": SOURCE_KEY,
                                                  "secret_access_key": SOURCE_SECRET, "session_token": SOURCE_TOKEN})
    assert started.status_code == 202, started.text
    documented("Run", started.json())
    run_id = started.json()["id"]

    def finished():
        r = api(gw, "GET", f"migration/runs/{run_id}").json()
        return r if r["state"] != "running" else None

    run = wait_until(finished, 300, "the API's run to finish", interval=0.5)
    documented("Run", run)
    assert run["state"] == "done", run
    assert run["objects_skipped"] == ARCHIVED
    assert run["objects_copied"] == sum(1 for (b, k) in source.objects_planned
                                        if b != "secret" and not k.startswith("glacier/"))
    s3 = s3_client(gw)
    assert s3.get_object(Bucket="api-photos", Key="video/1.mp4")["Body"].read() == \
        source.objects_planned["photos", "video/1.mp4"][0]
    listed = api(gw, "GET", "migration/runs").json()
    documented("RunList", listed)
    assert run_id in [r["id"] for r in listed["runs"]]


def test_a_root_run_leaves_the_state_directory_to_its_owner_and_runs_once(gw, source):
    """Run as root (as here) on a state directory of another user (the workers'), `migrate plan`
    and `migrate run --read-through` give what they create to that user; a second start of the
    same plan, from the CLI or the API, is refused while the first runs."""
    nobody = 65534
    os.chown(gw.state_dir, nobody, nobody)
    run = None
    try:
        r = migrate(gw, "plan", gw.work / "snapshot.json", "--constraint", "fi", "--bucket-prefix", "own-", "--json")
        assert r.returncode == 0, r.stderr
        plan_id = json.loads(r.stdout)["plan"]["id"]
        stored = gw.state_dir / "plans" / "default" / f"{plan_id}.json"
        for p in [stored.parent.parent, stored.parent, stored]:
            assert (p.stat().st_uid, p.stat().st_gid) == (nobody, nobody), p
        report = gw.work / "run-owned.jsonl"
        run = start_run(gw, stored, report, "--read-through", "--parallel", "1")
        wait_until(lambda: len(copied(report)) >= 5, 120, "the run to copy a few objects")
        sockets = list((gw.state_dir / "migration").glob("*.sock"))
        assert len(sockets) == 1, sockets
        for p in [sockets[0].parent, sockets[0]]:
            assert (p.stat().st_uid, p.stat().st_gid) == (nobody, nobody), p
        again = migrate(gw, "run", plan_id, env=source_env(), start_new_session=True)
        assert again.returncode == 1, again.stderr
        assert "Conflict" in again.stderr and "already running" in again.stderr, again.stderr
        started = api(gw, "POST", "migration/runs", {"plan_id": plan_id, "access_key_id": SOURCE_KEY,
                                                      "secret_access_key": SOURCE_SECRET})
        assert started.status_code == 409, started.text
        assert run.poll() is None, "the first run goes on"
        run.send_signal(signal.SIGINT)
        assert run.wait(60) == 130
        assert not sockets[0].exists(), "its socket went with it"
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        os.chown(gw.state_dir, 0, 0)


def test_the_source_credentials_are_nowhere(gw, source):
    secrets = [SOURCE_SECRET.encode(), SOURCE_TOKEN.encode(), SOURCE_KEY.encode()]
    places = [p for p in gw.tmp.rglob("*") if p.is_file() and "zones" not in p.parts]
    assert any(p.name == "metadata.sqlite" for p in places)
    for p in places:
        data = p.read_bytes()
        for s in secrets:
            assert s not in data, f"{s[:8]}… found in {p}"
