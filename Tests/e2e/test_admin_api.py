"""The admin API's operations end to end: JSON under /admin/ through nginx, signed by botocore's
SigV4Auth as any AWS signing library would sign it. Two Swedish filesystem zones and a Finnish
provider zone nothing listens for (its copies fail, so dead letters are real). What an
administrator checks: every tenant's buckets listed with their owners, a replica-count change
that makes copies appear in the other zone, the placement a constraint would get (and nothing
created), a zone probe, dead jobs retried and cancelled, agents and workers alive with the pids
that run, a primary moved by hand, providers imported without secrets in any answer, and every
error as JSON."""

import json
import subprocess
from urllib.parse import urlencode

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, NotYet, Stack, free_port, new_bucket_name, provider_zone, s3_client, s3gw_bin, wait_until


@pytest.fixture(scope="module")
def gw():
    stack = Stack("admin-api", workers=2, storage_extra="health_interval = 2")
    dead_port = free_port()  # nothing listens: the Finnish provider refuses every connection
    stack.extra = f"""
[[zones]]
name = "local-2"
country = "se"
region = "se-got"
kind = "filesystem"
path = "{stack.tmp}/zones/local-2"
{provider_zone("fi-dead-1", "fi", "fi-hel", dead_port, connect_timeout=1, response_timeout=1)}
[replication]
workers = 1
# One attempt: a copy towards the dead provider is a dead letter at once.
max_attempts = 1
failover = "manual"
"""
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


def admin(gw, method, path, body=None, query=None, key=None, secret=None, sign=True):
    """One admin API call signed with SigV4 (service s3) over requests; returns the response."""
    url = f"{gw.http_url}/admin/{path}" + (f"?{urlencode(query)}" if query else "")
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    if isinstance(data, str):
        data = data.encode()
    req = AWSRequest(method=method, url=url, data=data or b"",
                     headers={"Content-Type": "application/json"} if data else {})
    if sign:
        SigV4Auth(Credentials(key or gw.access_key, secret or gw.secret_key), "s3", REGION).add_auth(req)
    p = req.prepare()
    return requests.request(method, p.url, headers=dict(p.headers), data=p.body, timeout=60)


def ok(resp, status=200):
    assert resp.status_code == status, f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text}"
    return resp.json() if resp.content else None


def error(resp, status, code):
    assert resp.status_code == status, f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text}"
    assert resp.headers.get("Content-Type") == "application/json", resp.headers
    doc = resp.json()
    assert doc["code"] == code, doc
    assert doc["message"], doc
    return doc


def create_bucket(s3, name, constraint):
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint})


def zone_blobs(gw, zone):
    root = gw.tmp / "zones" / zone / "buckets"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_unsigned_and_malformed_requests_get_json_errors(gw):
    error(admin(gw, "GET", "zones", sign=False), 403, "AccessDenied")
    error(admin(gw, "GET", "zones", secret="not-the-secret"), 403, "SignatureDoesNotMatch")
    error(admin(gw, "POST", "placement/resolve", body="{not json"), 400, "InvalidRequest")
    error(admin(gw, "GET", "nothing/here"), 404, "NotFound")
    error(admin(gw, "PUT", "zones"), 405, "MethodNotAllowed")


def test_buckets_of_two_tenants_are_listed_with_their_owners_and_placement(gw):
    tenant = "t" + new_bucket_name("")[1:9]
    ok(admin(gw, "POST", "tenants", {"id": tenant}), 201)
    ok(admin(gw, "POST", f"tenants/{tenant}/users", {"name": "alice", "permissions": {"s3:*": ["*"]}}), 201)
    cred = ok(admin(gw, "POST", f"tenants/{tenant}/users/alice/credentials"), 201)
    theirs = boto3.client("s3", endpoint_url=gw.http_url, aws_access_key_id=cred["access_key"],
                          aws_secret_access_key=cred["secret_key"], region_name=REGION,
                          config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    name = new_bucket_name("photos")
    s3_client(gw).create_bucket(Bucket=name)
    theirs.create_bucket(Bucket=name)
    theirs.put_object(Bucket=name, Key="k", Body=b"theirs")

    rows = []
    marker = None
    while True:  # one per page: the pages join up
        page = ok(admin(gw, "GET", "buckets", query={"limit": 1, **({"marker": marker} if marker else {})}))
        rows += page["items"]
        marker = page.get("next_marker")
        if not marker:
            break
    mine = [r for r in rows if r["name"] == name]
    assert {r["tenant"] for r in mine} == {"default", tenant}
    by_tenant = {r["tenant"]: r for r in mine}
    assert by_tenant["default"]["owner_user"] == "root"
    assert by_tenant[tenant]["owner_user"] == "alice"
    assert by_tenant[tenant]["zones"] == ["local-1"] and by_tenant[tenant]["primary_zone"] == "local-1"
    assert [r["tenant"] for r in ok(admin(gw, "GET", "buckets", query={"tenant": tenant}))["items"]] == [tenant]

    detail = ok(admin(gw, "GET", f"tenants/{tenant}/buckets/{name}"))
    assert detail["objects"] == 1 and detail["bytes"] == len(b"theirs")
    [loc] = detail["placement"]
    assert loc["role"] == "primary" and loc["zone"] == "local-1"
    assert (gw.tmp / "zones" / "local-1" / "buckets" / loc["backend_bucket"]).is_dir()
    other = ok(admin(gw, "GET", f"tenants/default/buckets/{name}"))["placement"][0]["backend_bucket"]
    assert other != loc["backend_bucket"], "two tenants' buckets of one name share a backend bucket"

    # A user without admin permissions is refused, as JSON.
    error(admin(gw, "GET", "buckets", key=cred["access_key"], secret=cred["secret_key"]), 403, "AccessDenied")
    error(admin(gw, "GET", f"tenants/{tenant}/buckets/nope"), 404, "NotFound")


def test_raising_the_replica_count_queues_copies_that_the_agent_makes(gw):
    s3 = s3_client(gw)
    name = new_bucket_name()
    create_bucket(s3, name, "se")
    s3.put_object(Bucket=name, Key="a", Body=b"x" * 1000)
    assert zone_blobs(gw, "local-2") == []
    r = ok(admin(gw, "PATCH", f"tenants/default/buckets/{name}", {"replica_count": 2}))
    assert r["bucket"]["replica_count"] == 2 and r["objects_queued"] == 1
    assert [p["role"] for p in r["placement"]] == ["primary", "replica"]
    jobs = ok(admin(gw, "GET", "replication/jobs", query={"bucket": name}))["items"]
    copies = ok(admin(gw, "GET", "replication", query={"bucket": name, "key": "a"}))["objects"][0]["copies"]
    # The agent may have been quicker than this look: then the copy is already there.
    assert [j["zone"] for j in jobs] == ["local-2"] or copies[1]["state"] == "completed", (jobs, copies)

    def copied():
        c = ok(admin(gw, "GET", "replication", query={"bucket": name, "key": "a"}))["objects"][0]["copies"]
        if c != [{"zone": "local-1", "state": "primary"}, {"zone": "local-2", "state": "completed"}]:
            raise NotYet(c)
        return True

    wait_until(copied, 30, "the agent to copy the object to local-2", detail=gw.log_tail)
    assert [p.read_bytes() for p in zone_blobs(gw, "local-2")] == [b"x" * 1000]
    # More copies than the placement's zones: refused as S3 refuses the tag (409: the placement,
    # not the request, cannot hold them).
    error(admin(gw, "PATCH", f"tenants/default/buckets/{name}", {"replica_count": 3}), 409, "InvalidArgument")


def test_the_placement_of_a_constraint_is_answered_without_creating_anything(gw):
    before = ok(admin(gw, "GET", "buckets"))["items"]
    r = ok(admin(gw, "POST", "placement/resolve", {"location_constraint": "se,fi", "replica_count": 2}))
    assert r["primary_zone"] == "local-1"
    assert r["replica_zones"] == ["fi-dead-1"]
    assert sorted(r["zones"]) == ["fi-dead-1", "local-1", "local-2"]
    assert r["countries"] == ["fi", "se"]
    bad = error(admin(gw, "POST", "placement/resolve", {"location_constraint": "se,mars"}), 409,
                "InvalidLocationConstraint")
    assert "mars" in bad["message"]
    error(admin(gw, "POST", "placement/resolve", {"location_constraint": "se", "replica_count": 3}), 409,
          "InvalidArgument")
    assert ok(admin(gw, "GET", "buckets"))["items"] == before


def test_a_zone_probe_answers_now(gw):
    good = ok(admin(gw, "POST", "zones/local-1/probe"))
    assert good["ok"] is True and good["error"] == "" and good["zone"]["state"] == "healthy"
    bad = ok(admin(gw, "POST", "zones/fi-dead-1/probe"))
    assert bad["ok"] is False and bad["error"], bad
    zones = {z["name"]: z for z in ok(admin(gw, "GET", "zones"))["items"]}
    assert set(zones) == {"local-1", "local-2", "fi-dead-1"}
    assert zones["local-1"]["is_default"] and zones["local-1"]["kind"] == "filesystem"
    assert zones["fi-dead-1"]["kind"] == "s3" and zones["fi-dead-1"]["location"].startswith("http://127.0.0.1:")
    assert zones["fi-dead-1"]["state"] in ("degraded", "down")
    assert "moto-secret" not in json.dumps(zones)
    error(admin(gw, "POST", "zones/nowhere/probe"), 404, "NotFound")


def test_dead_letters_are_listed_retried_and_cancelled(gw):
    s3 = s3_client(gw)
    name = new_bucket_name()
    create_bucket(s3, name, "se,fi")
    ok(admin(gw, "PATCH", f"tenants/default/buckets/{name}", {"replica_count": 2}))
    s3.put_object(Bucket=name, Key="k", Body=b"to finland")

    def dead():
        items = ok(admin(gw, "GET", "replication/jobs", query={"bucket": name, "state": "dead"}))["items"]
        if not items:
            raise NotYet("no dead job yet")
        return items

    [job] = wait_until(dead, 30, "the copy to the dead provider to be dead-lettered", detail=gw.log_tail)
    assert job["zone"] == "fi-dead-1" and job["key"] == "k" and job["last_error"]
    assert ok(admin(gw, "GET", "replication"))["queue"]["dead"] >= 1
    assert ok(admin(gw, "POST", "replication/retry", {"ids": [job["id"]]}))["retried"] == 1
    # Tried once more and dead again; then cancelled for good.
    wait_until(dead, 30, "the retried copy to die again", detail=gw.log_tail)
    ok(admin(gw, "DELETE", f"replication/jobs/{job['id']}"), 204)
    error(admin(gw, "DELETE", f"replication/jobs/{job['id']}"), 404, "NotFound")
    assert ok(admin(gw, "GET", "replication/jobs", query={"bucket": name}))["items"] == []
    error(admin(gw, "POST", "replication/retry", {}), 400, "InvalidRequest")


def test_agents_and_workers_are_alive_with_the_pids_that_run(gw):
    def beating():
        agents = ok(admin(gw, "GET", "agents"))
        workers = ok(admin(gw, "GET", "workers"))["items"]
        alive = {w["pid"] for w in workers if w["alive"]}
        if not any(a["alive"] for a in agents["items"]) or alive != set(gw.worker_pids()):
            raise NotYet((agents, workers))
        return agents, workers

    agents, workers = wait_until(beating, 30, "every process to beat", detail=gw.log_tail)
    [agent] = [a for a in agents["items"] if a["alive"]]
    assert agent["pid"] in gw.all_children() and agent["pid"] not in gw.worker_pids()
    assert "finished_per_minute" in agents["queue"]
    # Requests are counted: after a burst, the workers' totals grow by at least as many.
    before = sum(w["requests_served"] for w in workers if w["alive"])
    s3 = s3_client(gw)
    for _ in range(20):
        s3.list_buckets()

    def counted():
        now = sum(w["requests_served"] for w in ok(admin(gw, "GET", "workers"))["items"] if w["alive"])
        if now < before + 20:
            raise NotYet(now)
        return True

    wait_until(counted, 20, "the workers' beats to count the requests")


def test_an_operator_promotes_a_zone_of_a_two_zone_bucket(gw):
    s3 = s3_client(gw)
    name = new_bucket_name()
    create_bucket(s3, name, "se")
    r = ok(admin(gw, "POST", "failover/promote", {"bucket": name, "zone": "local-2"}))
    assert r["primary_zone"] == "local-2" and r["previous_primary_zone"] == "local-1" and r["changed"]
    assert r["zones"] == ["local-2", "local-1"]
    before = set(zone_blobs(gw, "local-2"))
    s3.put_object(Bucket=name, Key="after", Body=b"written after the promotion")
    new = set(zone_blobs(gw, "local-2")) - before
    assert [p.read_bytes() for p in new] == [b"written after the promotion"]
    refused = error(admin(gw, "POST", "failover/promote", {"bucket": name, "zone": "fi-dead-1"}), 409, "Conflict")
    assert "placement" in refused["message"]
    error(admin(gw, "POST", "failover/promote", {"bucket": "no-such-bucket", "zone": "local-1"}), 404, "NotFound")


def test_providers_are_imported_dry_run_first_without_secrets_in_answers(gw):
    original = gw.config.read_text()
    body = {"providers": [{"name": "de-new-1", "country": "de", "region": "de-fra",
                           "endpoint": "https://s3.de.example", "access_key": "AKIDIMPORTED",
                           "secret_key": "imported-secret-value"}]}
    dry = admin(gw, "POST", "providers/import", body)
    doc = ok(dry)
    assert doc["applied"] is False and [z["name"] for z in doc["zones"]] == ["de-new-1"]
    assert "imported-secret-value" not in dry.text and "AKIDIMPORTED" not in dry.text
    assert gw.config.read_text() == original
    applied = admin(gw, "POST", "providers/import", {**body, "apply": True})
    assert ok(applied)["applied"] is True
    assert "imported-secret-value" not in applied.text
    assert "imported-secret-value" in gw.config.read_text()
    subprocess.run([str(s3gw_bin()), "config", "check", "--config", str(gw.config)], check=True,
                   capture_output=True)
    error(admin(gw, "POST", "providers/import", body), 409, "Conflict")  # the name exists now
    error(admin(gw, "POST", "providers/import", {"providers": [{"name": "x"}]}), 400, "InvalidRequest")


def test_repair_audit_sweep_and_zone_listings_on_request(gw):
    s3 = s3_client(gw)
    name = new_bucket_name()
    create_bucket(s3, name, "se")
    ok(admin(gw, "PATCH", f"tenants/default/buckets/{name}", {"replica_count": 2}))
    before = set(zone_blobs(gw, "local-2"))
    s3.put_object(Bucket=name, Key="k", Body=b"copy me")

    def replica():
        new = set(zone_blobs(gw, "local-2")) - before
        if not new:
            raise NotYet("no replica yet")
        return new.pop()

    lost = wait_until(replica, 30, "the replica in local-2", detail=gw.log_tail)
    placement = ok(admin(gw, "GET", f"tenants/default/buckets/{name}"))["placement"]
    backend = {p["zone"]: p["backend_bucket"] for p in placement}
    # What the zone itself holds, as `s3gw zones ls` shows it.
    assert backend["local-2"] in [b["name"] for b in ok(admin(gw, "GET", "zones/local-2/backend-buckets",
                                                                 query={"limit": 1000}))["items"]]
    blobs = ok(admin(gw, "GET", f"zones/local-2/backend-buckets/{backend['local-2']}/blobs"))["items"]
    assert [(b["id"], b["size"]) for b in blobs] == [(lost.name, len(b"copy me"))]

    lost.unlink()  # lost behind the gateway's back
    r = ok(admin(gw, "POST", f"tenants/default/buckets/{name}/repair", {"key": "k"}))
    assert r["checked"] == 1 and r["queued"] == 1 and r["lost"] == 0, r
    assert [o["key"] for o in r["objects"]] == ["k"] and r["objects"][0]["notes"], r
    wait_until(replica, 30, "the repaired replica", detail=gw.log_tail)
    assert [p.read_bytes() for p in set(zone_blobs(gw, "local-2")) - before] == [b"copy me"]

    audit = ok(admin(gw, "POST", "audit/residency", {}))
    assert audit["format"] == "s3gw-residency-audit/1"
    mine = [b for b in audit["buckets"] if b["bucket"] == name]
    assert len(mine) == 1 and audit["summary"]["violations"] == 0, audit["summary"]
    assert ok(admin(gw, "POST", "zones/sweep-uploads", {"older_than": 0}))["aborted"] == 0
