"""The operator's commands of the admin command line — buckets, zones, replication, placement,
failover, repair, sweeps, the residency audit, provider imports, agents and workers — each run on
the gateway host (-c CONFIG) and against the gateway's admin API (--endpoint, SigV4 with admin
credentials), with tables and with --json, and checked against what S3 clients and the zones
themselves see: a bucket's new owner in its ACL, the copies a new replica-count makes, writes
landing in a promoted zone, the blobs a zone holds, the processes really running."""

import json

import boto3
import pytest
from botocore.config import Config

from admin_cli import as_json, cli, fields, rows
from conftest import REGION, NotYet, Stack, filesystem_zone, new_bucket_name, s3_client, wait_until


@pytest.fixture(scope="module")
def gw():
    stack = Stack("adminops", workers=2, storage_extra="health_interval = 1")
    # Two Swedish zones: a bucket constrained to `se` has two places to live, and can fail over.
    stack.extra = filesystem_zone("local-2", "se", "se-got", stack.tmp / "zones" / "local-2")
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


@pytest.fixture(scope="module", params=["local", "remote"])
def mode(request) -> str:
    return request.param


class Tenant:
    """A tenant made for one mode, with user alice (s3:* on everything), her key, and her bucket
    `photos` (LocationConstraint se: primary local-1, then local-2) holding objects a and b."""

    def __init__(self, gw: Stack, mode: str):
        self.id = f"ops-{mode}"
        self.bucket = "photos"
        cli(gw, "tenants", "create", self.id, mode=mode)
        alice = as_json(cli(gw, "users", "create", self.id, "alice", "--permissions", json.dumps({"s3:*": ["*"]}),
                            "--json", mode=mode))
        self.alice_id = alice["id"]
        key = as_json(cli(gw, "credentials", "create", self.id, "alice", "--json", mode=mode))
        self.s3 = boto3.client("s3", endpoint_url=gw.http_url, aws_access_key_id=key["access_key"],
                               aws_secret_access_key=key["secret_key"], region_name=REGION,
                               config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
        self.objects = {"a": b"first object", "b": b"the second"}
        for k, v in self.objects.items():
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=v)

    def headers(self, key: str) -> dict:
        return self.s3.head_object(Bucket=self.bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]


@pytest.fixture(scope="module")
def acme(gw, mode) -> Tenant:
    return Tenant(gw, mode)


@pytest.fixture(scope="module")
def root_bucket(gw) -> str:
    """A bucket of the default tenant, beside the other tenant's."""
    name = new_bucket_name("rootops")
    s3_client(gw).create_bucket(Bucket=name)
    return name


def test_buckets_list_show_and_set(gw, mode, acme, root_bucket):
    t = acme.id
    (row,) = rows(cli(gw, "buckets", "list", "--tenant", t, mode=mode).stdout)
    assert {k: row[k] for k in ("TENANT", "BUCKET", "OWNER", "CONSTRAINT", "ZONES", "REPLICAS")} == {
        "TENANT": t, "BUCKET": "photos", "OWNER": "alice", "CONSTRAINT": "se", "ZONES": "local-1, local-2",
        "REPLICAS": "1"}
    every = as_json(cli(gw, "buckets", "list", "--json", mode=mode))["items"]
    assert {(t, "photos"), ("default", root_bucket)} <= {(b["tenant"], b["name"]) for b in every}

    shown = fields(cli(gw, "buckets", "show", "photos", "--tenant", t, mode=mode).stdout)
    assert {k: shown[k] for k in ("bucket", "tenant", "owner", "owner user", "replica-count", "location constraint")} == {
        "bucket": "photos", "tenant": t, "owner": acme.alice_id, "owner user": "alice", "replica-count": "1",
        "location constraint": "se"}
    assert shown["objects"] == f"2 ({sum(map(len, acme.objects.values()))} bytes)"
    assert shown["primary zone"].split()[0] == "local-1" and shown["allowed zone"].split()[0] == "local-2"

    # A new owner and a second copy of each object, in one call.
    bob = as_json(cli(gw, "users", "create", t, f"bob-{mode}", "--json", mode=mode))
    d = as_json(cli(gw, "buckets", "set", t, "photos", "--owner", bob["name"], "--replica-count", "2", "--json",
                    mode=mode))
    assert (d["bucket"]["owner"], d["bucket"]["owner_user"], d["bucket"]["replica_count"]) == (bob["id"], bob["name"], 2)
    assert d["objects_queued"] == 2
    assert [(p["zone"], p["role"]) for p in d["placement"]] == [("local-1", "primary"), ("local-2", "replica")]
    # What S3 clients see: the owner in the ACL, each object copied to the second zone.
    assert acme.s3.get_bucket_acl(Bucket="photos")["Owner"]["ID"] == bob["id"]
    for k in acme.objects:
        wait_until(lambda: acme.headers(k).get("x-s3gw-replicas") == "local-1=primary,local-2=completed", 30,
                   f"{k}'s copy in local-2", gw.log_tail)

    # Refused: nothing to set (usage, 2), more copies than zones, a user the tenant lacks, a
    # bucket it lacks; nothing changed.
    assert cli(gw, "buckets", "set", t, "photos", mode=mode, check=False).returncode == 2
    r = cli(gw, "buckets", "set", t, "photos", "--replica-count", "3", "--owner", "alice", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: InvalidArgument:" in r.stderr and "exceeds the 2 location" in r.stderr, r.stderr
    r = cli(gw, "buckets", "set", t, "photos", "--owner", "nobody", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: NotFound:" in r.stderr and "nobody" in r.stderr, r.stderr
    r = cli(gw, "buckets", "show", "nosuch", "--tenant", t, mode=mode, check=False)
    assert r.returncode == 1 and "bucket nosuch of tenant" in r.stderr, r.stderr
    assert acme.s3.get_bucket_acl(Bucket="photos")["Owner"]["ID"] == bob["id"]

    # Back to alice and one copy (`buckets replicas`, as before the port); the extra copies go.
    cli(gw, "buckets", "set", t, "photos", "--owner", "alice", mode=mode)
    r = cli(gw, "buckets", "replicas", "photos", "1", "--tenant", t, mode=mode)
    assert r.stdout.strip() == "bucket photos: replica-count 1; 2 object(s) queued for a change of copies"
    for k in acme.objects:
        wait_until(lambda: acme.headers(k).get("x-s3gw-replicas") in (None, "local-1=primary"), 30,
                   f"{k}'s copy in local-2 to go", gw.log_tail)


def test_zones_show_probe_and_list_what_a_zone_holds(gw, mode, acme):
    def both_healthy():
        states = {r["ZONE"]: r["STATE"] for r in rows(cli(gw, "zones", mode=mode).stdout)}
        if states != {"local-1 (default)": "healthy", "local-2": "healthy"}:
            raise NotYet(states)
        return states

    wait_until(both_healthy, 20, "both zones healthy", gw.log_tail)
    one = as_json(cli(gw, "zones", "local-2", "--json", mode=mode))
    assert (one["name"], one["kind"], one["country"], one["is_default"]) == ("local-2", "filesystem", "se", False)
    probed = as_json(cli(gw, "zones", "--probe", "--json", mode=mode))["items"]
    assert [(z["name"], z["state"], z["consecutive_failures"]) for z in probed] == [
        ("local-1", "healthy", 0), ("local-2", "healthy", 0)]
    r = cli(gw, "zones", "nowhere-1", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: NotFound: zone nowhere-1 is not configured" in r.stderr, r.stderr

    # What the zone itself holds: the bucket's backend bucket, and its blobs with their sizes.
    placement = as_json(cli(gw, "buckets", "show", "photos", "--tenant", acme.id, "--json", mode=mode))["placement"]
    (backend,) = [p["backend_bucket"] for p in placement if p["zone"] == "local-1"]
    assert backend in cli(gw, "zones", "ls", "local-1", mode=mode).stdout.split()
    out = cli(gw, "zones", "ls", "local-1", backend, mode=mode).stdout.splitlines()
    assert out[0].split()[:2] == ["BLOB", "SIZE"]
    assert out[-1] == f"total: 2 blobs, {sum(map(len, acme.objects.values()))} bytes", out
    blobs = as_json(cli(gw, "zones", "ls", "local-1", backend, "--json", mode=mode))["items"]
    assert sorted(b["size"] for b in blobs) == sorted(map(len, acme.objects.values()))
    on_disk = sorted(p.name for p in (gw.zone_dir / "buckets" / backend).rglob("*") if p.is_file())
    assert sorted(b["id"] for b in blobs) == on_disk


def test_replication_status_and_jobs(gw, mode, acme):
    status = as_json(cli(gw, "replication", "status", "photos", "--tenant", acme.id, "--json", mode=mode))
    assert set(status) == {"queue", "objects", "jobs"}
    assert {"pending", "running", "dead", "retrying", "oldest_pending_seconds"} <= set(status["queue"])
    assert sorted(o["key"] for o in status["objects"]) == sorted(acme.objects)
    assert all(o["tenant"] == acme.id and o["copies"][0] == {"zone": "local-1", "state": "primary"}
               for o in status["objects"])
    text = cli(gw, "replication", "status", "photos", "a", "--tenant", acme.id, mode=mode).stdout.splitlines()
    assert text[0].startswith("queue: ") and text[1].startswith("rate over the last 5 minutes: ")
    assert rows("\n".join(text[2:]))[0] == {"OBJECT": "a", "STATUS": "-", "COPIES": "local-1=primary"}

    # The jobs the replica-count changes queued have run; the tenant's, all of them, the dead.
    jobs = as_json(cli(gw, "replication", "jobs", "--tenant", acme.id, "--json", mode=mode))["items"]
    assert all(j["tenant"] == acme.id and j["bucket"] == "photos" for j in jobs), jobs
    assert as_json(cli(gw, "replication", "jobs", "--dead", "--json", mode=mode))["items"] == []
    assert cli(gw, "replication", "jobs", "--dead", mode=mode).stdout.strip() == "no dead jobs"
    r = cli(gw, "replication", "retry", "--dead", mode=mode, check=False)
    assert r.returncode == 1 and r.stdout.strip() == "0 job(s) queued again", r.stdout + r.stderr
    r = cli(gw, "replication", "cancel", "987654321", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: NotFound: job 987654321 does not exist" in r.stderr, r.stderr
    assert cli(gw, "replication", "retry", mode=mode, check=False).returncode == 2


def test_placement_resolve_answers_without_creating_anything(gw, mode):
    before = as_json(cli(gw, "buckets", "list", "--json", mode=mode))["items"]
    d = as_json(cli(gw, "placement", "resolve", "--location-constraint", "se", "--replica-count", "2", "--json",
                    mode=mode))
    assert sorted(d["zones"]) == ["local-1", "local-2"] and d["countries"] == ["se"]
    assert (d["primary_zone"], d["replica_zones"], d["replica_count"]) == (d["zones"][0], d["zones"][1:], 2)
    shown = fields(cli(gw, "placement", "resolve", "--location-constraint", "se-got", mode=mode).stdout)
    assert (shown["zones"], shown["primary zone"], shown["replica count"]) == ("local-2", "local-2", "1")
    # Without a constraint: the default zone.
    assert as_json(cli(gw, "placement", "resolve", "--json", mode=mode))["zones"] == ["local-1"]

    r = cli(gw, "placement", "resolve", "--location-constraint", "mars", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: InvalidLocationConstraint:" in r.stderr, r.stderr
    r = cli(gw, "placement", "resolve", "--location-constraint", "se", "--replica-count", "3", mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: InvalidArgument:" in r.stderr, r.stderr
    assert as_json(cli(gw, "buckets", "list", "--json", mode=mode))["items"] == before


def test_agents_and_workers_are_alive(gw, mode):
    def alive(command, expected):
        def check():
            r = cli(gw, command, "--json", mode=mode, check=False)
            pids = {p["pid"] for p in as_json(r)["items"] if p["alive"]}
            if r.returncode != 0 or pids != expected():
                raise NotYet(f"{command}: {pids} alive, the supervisor's: {expected()}\n{r.stdout}")
            return pids
        return check

    # The agent and the configured workers, the supervisor's children, each report alive (they
    # beat every 5 s).
    agent = lambda: set(gw.all_children()) - set(gw.worker_pids())
    assert len(agent()) == 1
    wait_until(alive("agents", agent), 20, "the agent alive", gw.log_tail)
    workers = wait_until(alive("workers", lambda: set(gw.worker_pids())), 20, "the workers alive", gw.log_tail)
    assert len(workers) == 2
    table = rows(cli(gw, "workers", mode=mode).stdout)
    assert {int(r["PID"]) for r in table if r["ALIVE"] == "yes"} >= workers
    out = cli(gw, "agents", mode=mode).stdout
    assert rows(out.split("\nqueue: ")[0])[0]["ALIVE"] == "yes"
    assert "\nqueue: " in out


def test_failover_promote_moves_writes_to_the_other_zone(gw, mode, acme):
    t = acme.id
    r = cli(gw, "failover", "promote", "photos", "local-2", "--tenant", t, mode=mode)
    assert r.stdout.strip() == "bucket photos: primary zone local-2 (was local-1); placement local-2, local-1"
    acme.s3.put_object(Bucket="photos", Key="after", Body=b"written after the promotion")
    assert acme.headers("after")["x-s3gw-zone"] == "local-2"
    assert acme.headers("a")["x-s3gw-zone"] == "local-1", "objects already written keep their copies"
    again = cli(gw, "failover", "promote", "photos", "local-2", "--tenant", t, mode=mode)
    assert again.stdout.strip() == "bucket photos: local-2 already is the primary zone"

    refused = cli(gw, "failover", "promote", "photos", "mars-1", "--tenant", t, mode=mode, check=False)
    assert refused.returncode == 1 and "no zone of that name is configured" in refused.stderr, refused.stderr
    d = as_json(cli(gw, "failover", "promote", "photos", "local-1", "--tenant", t, "--json", mode=mode))
    assert d == {"tenant": t, "bucket": "photos", "primary_zone": "local-1", "previous_primary_zone": "local-2",
                 "changed": True, "zones": ["local-1", "local-2"]}
    acme.s3.delete_object(Bucket="photos", Key="after")


def test_repair_sweep_and_audit(gw, mode, acme):
    r = cli(gw, "repair", "photos", "--tenant", acme.id, mode=mode)
    assert r.stdout.strip() == "checked 2 object(s): 0 copies queued, 0 without an intact copy, 0 copies not checked"
    d = as_json(cli(gw, "repair", "photos", "a", "--deep", "--tenant", acme.id, "--json", mode=mode))
    assert (d["checked"], d["queued"], d["lost"], d["objects"]) == (1, 0, 0, [])
    r = cli(gw, "repair", "photos", "nosuch", "--tenant", acme.id, mode=mode, check=False)
    assert r.returncode == 1 and "s3gw: NotFound:" in r.stderr, r.stderr

    r = cli(gw, "zones", "sweep-uploads", "--older-than", "0", mode=mode)
    assert r.stdout.strip() == "aborted 0 stray zone upload(s)"

    doc = as_json(cli(gw, "audit", "residency", "--json", mode=mode))
    assert doc["format"] == "s3gw-residency-audit/1" and doc["clean"], doc["summary"]
    assert f"{acme.id}/photos" in [b["bucket"] for b in doc["buckets"]]
    text = cli(gw, "audit", "residency", mode=mode).stdout
    assert f"bucket {acme.id}/photos  owner {acme.alice_id}" in text and text.rstrip().endswith("result: CLEAN")


def test_a_tenant_administrator_reaches_its_own_buckets_only(gw, acme, root_bucket):
    t = acme.id
    cli(gw, "users", "create", t, "boss", "--permissions", json.dumps({"admin:*": [t]}))
    key = as_json(cli(gw, "credentials", "create", t, "boss", "--json"))
    boss = (key["access_key"], key["secret_key"])
    shown = fields(cli(gw, "buckets", "show", "photos", "--tenant", t, mode="remote", keys=boss).stdout)
    # Its own bucket, without the operator's zone locations; and the owner, not the replica-count.
    assert (shown["tenant"], shown["primary zone"], shown["allowed zone"]) == (t, "local-1", "local-2")
    cli(gw, "buckets", "set", t, "photos", "--owner", "alice", mode="remote", keys=boss)
    r = cli(gw, "buckets", "set", t, "photos", "--replica-count", "2", mode="remote", keys=boss, check=False)
    assert r.returncode == 1 and "s3gw: AccessDenied:" in r.stderr, r.stderr
    for args in (["buckets", "list"], ["buckets", "list", "--tenant", t], ["buckets", "show", root_bucket],
                 ["zones"], ["replication", "status"], ["agents"], ["audit", "residency"],
                 ["failover", "promote", "photos", "local-2", "--tenant", t], ["repair", "photos", "--tenant", t]):
        r = cli(gw, *args, mode="remote", keys=boss, check=False)
        assert r.returncode in (1, 2) and "s3gw: AccessDenied: Access Denied" in r.stderr, (args, r.stderr)
    assert acme.headers("a")["x-s3gw-zone"] == "local-1"


def test_providers_import_dry_run_then_apply(gw, mode, tmp_path):
    """Last: the applied import adds a zone to the stack's configuration (restored after)."""
    original = gw.config.read_text()
    secret = "PROVIDERSECRET" + mode.upper()
    good = tmp_path / "providers.csv"
    good.write_text("name,country,region,endpoint,access_key,secret_key,path_style\n"
                    f"fi-{mode}-1,fi,fi-hel,https://fi.example,PROVIDERKEY,{secret},false\n")
    try:
        dry = cli(gw, "providers", "import", good, "--dry-run", mode=mode)
        assert rows(dry.stdout.split("\ns3gw: ")[0])[0]["ZONE"] == f"fi-{mode}-1"
        assert "dry run" in dry.stdout and gw.config.read_text() == original
        dry_json = cli(gw, "providers", "import", good, "--dry-run", "--json", mode=mode)
        d = as_json(dry_json)
        assert d["applied"] is False and [(z["name"], z["path_style"]) for z in d["zones"]] == [(f"fi-{mode}-1", False)]

        r = cli(gw, "providers", "import", good, mode=mode)
        assert "added 1 provider zone(s)" in r.stdout
        assert f'name = "fi-{mode}-1"' in gw.config.read_text() and secret in gw.config.read_text()
        for out in (dry, dry_json, r):
            assert secret not in out.stdout + out.stderr and "PROVIDERKEY" not in out.stdout + out.stderr
        again = cli(gw, "providers", "import", good, mode=mode, check=False)
        assert again.returncode == 1 and "s3gw: Conflict:" in again.stderr and "defined twice" in again.stderr

        bad = tmp_path / "bad.csv"
        bad.write_text("name,country,region,endpoint,access_key,secret_key\nde-1,de,de-fra,not-a-url,ak,sk\n")
        before = gw.config.read_text()
        r = cli(gw, "providers", "import", bad, mode=mode, check=False)
        assert r.returncode == 1 and "row 1: endpoint" in r.stderr and gw.config.read_text() == before
    finally:
        gw.config.write_text(original)
