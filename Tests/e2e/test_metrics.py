"""Prometheus metrics and the health endpoints end to end: the real binary with three workers
behind real nginx, scraped by a real Prometheus server from Debian (`prometheus`, started here on a
free 127.0.0.1 port and stopped by PID). What an operator checks: `sum by (operation, status)
(s3gw_requests_total)` equals exactly the requests a client sent, per operation and status, with
404s and an authentication failure among them, whichever worker answered them and after a worker
was killed and replaced; `promtool check metrics` finds nothing to fix; /metrics refuses addresses
not on the allow list (in the gateway and in nginx); /healthz and /readyz answer load balancers and
/readyz turns 503 when a country's only zone goes down.

Scrapes (/metrics) and probes (/healthz, /readyz) are not counted as requests (docs/OBSERVABILITY.md),
so Prometheus's own scrapes do not move the numbers; the test's baseline is what the stack counted
before the workload (the harness's readiness probe)."""

import io
import json
import os
import signal
import struct
import subprocess
import tempfile
import time
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (REGION, NotYet, Stack, filesystem_zone, new_bucket_name, s3_client, s3gw_bin, spawn_server,
                      start_nginx, start_on_free_ports, stop_process, wait_until)
from test_virtual_host import DOMAIN as VH_DOMAIN, local_dns  # noqa: F401 (a fixture)

WORKERS = 3


@pytest.fixture(scope="module")
def stack():
    s = Stack("metrics", workers=WORKERS, storage_extra="health_interval = 1")
    s.extra = filesystem_zone("fi-1", "fi", "fi-hel", s.tmp / "zones" / "fi-1")
    s.start()
    yield s
    s.stop()
    s.cleanup()


class Prometheus:
    """A Prometheus server scraping the stack's nginx every second, in its own temp directory."""

    def __init__(self, target_port: int):
        self.tmp = Path(tempfile.mkdtemp(prefix="s3gw-prometheus-"))
        self.config = self.tmp / "prometheus.yml"
        self.config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: s3gw\n"
            "    metrics_path: /metrics\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n")
        r = subprocess.run(["promtool", "check", "config", str(self.config)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        self.proc = None
        self.port = start_on_free_ports(self._start, 1, "prometheus")

    def _start(self, port: int) -> int:
        self.proc = spawn_server(
            ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"], self.tmp / "prometheus.log", [port], "prometheus")
        return port

    def query(self, promql: str) -> list:
        r = requests.get(f"http://127.0.0.1:{self.port}/api/v1/query", params={"query": promql}, timeout=5)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def log_tail(self) -> str:
        return (self.tmp / "prometheus.log").read_text(errors="replace")[-3000:]

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def prometheus(stack):
    p = Prometheus(stack.http_port)

    def scraped():
        up = p.query('up{job="s3gw"}')
        if not up or up[0]["value"][1] != "1":
            targets = requests.get(f"http://127.0.0.1:{p.port}/api/v1/targets", timeout=5).json()
            raise NotYet(f"up={up} targets={targets['data']['activeTargets']}")
        return True

    try:
        wait_until(scraped, 60, "Prometheus to scrape the gateway", detail=p.log_tail)
        yield p
    finally:
        p.stop()


# -- reading what the gateway counted ----------------------------------------------------------
def scrape(stack) -> str:
    r = requests.get(f"{stack.http_url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.text


def samples(text: str, name: str) -> dict:
    """{frozenset of (label, value): value} of one family's samples in exposition text."""
    out = {}
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        labels = {}
        if "{" in series:
            for pair in series[series.index("{") + 1:-1].split('",'):
                k, v = pair.split("=", 1)
                labels[k] = v.strip('"')
        out[frozenset(labels.items())] = float(value)
    return out


def requests_by_op_status(text: str) -> Counter:
    return Counter({(dict(k)["operation"], dict(k)["status"]): int(v)
                    for k, v in samples(text, "s3gw_requests_total").items()})


def prometheus_requests(p: Prometheus) -> Counter:
    return Counter({(r["metric"].get("operation", ""), r["metric"]["status"]): int(float(r["value"][1]))
                    for r in p.query("sum by (operation, status) (s3gw_requests_total)")})


def counter_files(stack) -> dict:
    """{file name: {key: value}} of the processes' counter files (layout: Sources/Metrics/CounterFile.swift)."""
    out = {}
    for path in (stack.state_dir / "metrics").glob("*.m"):
        if path.name == "retired.m":
            continue
        data = path.read_bytes()
        count = struct.unpack_from("<Q", data, 40)[0]
        entries = {}
        for i in range(count):
            at = 64 + i * 128
            n = struct.unpack_from("<H", data, at)[0]
            entries[data[at + 2:at + 2 + n].decode()] = struct.unpack_from("<Q", data, at + 120)[0]
        out[path.name] = entries
    return out


def requests_in_file(entries: dict) -> int:
    return sum(v for k, v in entries.items() if k.startswith("requests_total\x1f"))


# -- the workload ----------------------------------------------------------------------------
def workload(stack, bucket: str, tag: str, create: bool) -> Counter:
    """Known requests, several at once (so several workers answer); returns (operation, status) → count."""
    s3 = s3_client(stack)
    sent = Counter()
    if create:
        s3.create_bucket(Bucket=bucket)
        sent["CreateBucket", "200"] += 1
    keys = [f"{tag}/obj-{i}" for i in range(8)]

    def put(k):
        s3_client(stack).put_object(Bucket=bucket, Key=k, Body=os.urandom(1000))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))
    sent["PutObject", "200"] += len(keys)

    def get(k):
        assert len(s3_client(stack).get_object(Bucket=bucket, Key=k)["Body"].read()) == 1000

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, keys[:6]))
    sent["GetObject", "200"] += 6
    for i in range(3):
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key=f"{tag}/missing-{i}")
        assert e.value.response["Error"]["Code"] == "NoSuchKey"
    sent["GetObject", "404"] += 3
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=f"{tag}/missing")
    sent["HeadObject", "404"] += 1
    s3.head_object(Bucket=bucket, Key=keys[0])
    sent["HeadObject", "200"] += 1
    s3.list_objects_v2(Bucket=bucket, Prefix=tag)
    s3.list_objects_v2(Bucket=bucket, Prefix=tag + "/obj-1")
    sent["ListObjectsV2", "200"] += 2
    s3.delete_object(Bucket=bucket, Key=keys[7])
    sent["DeleteObject", "204"] += 1
    # Authentication failures: the signature does not match (a wrong secret); refused before any
    # route is found, so their operation is Unknown.
    bad = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=stack.access_key,
                       aws_secret_access_key="not-the-secret", region_name=REGION,
                       config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            bad.get_object(Bucket=bucket, Key=keys[0])
        assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    sent["Unknown", "403"] += 2
    return sent


def workers_that_counted(stack) -> dict:
    """{worker pid: requests its counter file holds} for the live workers' files."""
    files = counter_files(stack)
    return {int(name.split("-")[1]): requests_in_file(entries) for name, entries in files.items()
            if name.startswith("worker-")}


def spread_over_workers(stack, bucket: str) -> Counter:
    """Bursts of concurrent HeadBucket requests (each on a connection of its own) until at least
    two workers have counted requests: nginx hands a burst's connections to whichever workers
    accept them. Returns what was sent."""
    sent = Counter()

    def head(_):
        s3_client(stack).head_bucket(Bucket=bucket)

    def spread():
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(head, range(32)))
        sent["HeadBucket", "200"] += 32
        counted = workers_that_counted(stack)
        if sum(1 for n in counted.values() if n > 0) < 2:
            raise NotYet(f"requests per worker: {counted}")
        return True

    wait_until(spread, 60, "at least two workers to count requests", detail=stack.log_tail)
    return sent


def wait_for_prometheus(p: Prometheus, expected: Counter, what: str) -> None:
    def equal():
        seen = prometheus_requests(p)
        if +seen != +expected:
            diff = {k: (seen.get(k, 0), expected.get(k, 0)) for k in set(seen) | set(expected)
                    if seen.get(k, 0) != expected.get(k, 0)}
            raise NotYet(f"(operation, status): (prometheus, expected) differ: {diff}")
        return True

    wait_until(equal, 30, what, detail=p.log_tail)


def test_prometheus_counts_exactly_what_was_sent_across_workers_and_a_restart(stack, prometheus):
    before = scrape(stack)
    expected = requests_by_op_status(before)
    auth_before = samples(before, "s3gw_auth_failures_total").get(frozenset({("reason", "SignatureDoesNotMatch")}), 0)
    restarts_before = samples(before, "s3gw_worker_restarts_total")[frozenset()]
    bucket = new_bucket_name("metrics")

    expected += workload(stack, bucket, "one", create=True)
    expected += spread_over_workers(stack, bucket)
    wait_for_prometheus(prometheus, expected, "Prometheus to see exactly the first workload")
    after = scrape(stack)
    assert samples(after, "s3gw_auth_failures_total")[frozenset({("reason", "SignatureDoesNotMatch")})] \
        == auth_before + 2
    assert samples(after, "s3gw_request_bytes_total")[frozenset({("operation", "PutObject")})] >= 8000
    assert samples(after, "s3gw_requests_in_flight")[frozenset()] == 0

    # SIGKILL the idle worker that counted the most: what it counted stays counted (its file, then
    # retired.m once the supervisor folds it), its replacement starts a file of its own.
    files = counter_files(stack)
    workers = {int(name.split("-")[1]): name for name in files if name.startswith("worker-")}
    assert set(workers) == set(stack.worker_pids()), (workers, stack.worker_pids())
    busiest = max(workers, key=lambda pid: requests_in_file(files[workers[pid]]))
    print("requests per worker:", {pid: requests_in_file(files[name]) for pid, name in workers.items()})
    assert requests_in_file(files[workers[busiest]]) > 0
    # Several workers counted: the exact totals below are sums across processes, not one file.
    assert sum(1 for name in workers.values() if requests_in_file(files[name]) > 0) >= 2, files.keys()
    os.kill(busiest, signal.SIGKILL)

    def replaced():
        pids = stack.worker_pids()
        if busiest in pids or len(pids) != WORKERS:
            raise NotYet(f"workers {pids}")
        names = {p.name for p in (stack.state_dir / "metrics").glob("*.m")}
        if workers[busiest] in names:
            raise NotYet("the dead worker's counter file is not folded yet")
        return "retired.m" in names

    wait_until(replaced, 30, "the supervisor to replace the killed worker and fold its counters",
               detail=stack.log_tail)
    folded_at = time.time()

    # Only a scrape taken after the fold says anything about it (the last one may predate the kill).
    def scraped_since_fold():
        r = prometheus.query('timestamp(up{job="s3gw"})')
        if not r or float(r[0]["value"][1]) <= folded_at:
            raise NotYet(f"last scrape {r}")
        return True

    wait_until(scraped_since_fold, 30, "Prometheus to scrape after the fold", detail=prometheus.log_tail)
    wait_for_prometheus(prometheus, expected, "the counts to stay exact after the worker died")
    # Never went down on the way, not even for one scrape (rate() would count a reset).
    resets = prometheus.query("sum(resets(s3gw_requests_total[10m]))")
    assert [float(r["value"][1]) for r in resets] == [0], resets

    expected += workload(stack, bucket, "two", create=False)
    wait_for_prometheus(prometheus, expected, "Prometheus to see exactly both workloads")
    restarts = prometheus.query("s3gw_worker_restarts_total")
    assert [float(r["value"][1]) for r in restarts] == [restarts_before + 1]
    # The exposition answered by any worker is the whole gateway's.
    for _ in range(2 * WORKERS):
        assert +requests_by_op_status(scrape(stack)) == +expected


def test_promtool_finds_nothing_to_fix(stack):
    text = scrape(stack)
    assert "# TYPE s3gw_request_duration_seconds histogram" in text
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr
    # Histograms: cumulative buckets, _count equal to the +Inf bucket.
    lines = [l for l in text.splitlines() if l.startswith('s3gw_request_duration_seconds_bucket{operation="PutObject"')]
    values = [float(l.rsplit(" ", 1)[1]) for l in lines]
    assert values and values == sorted(values) and 'le="+Inf"' in lines[-1]
    count = samples(text, "s3gw_request_duration_seconds_count")[frozenset({("operation", "PutObject")})]
    assert values[-1] == count


def test_admin_metrics_answers_a_signed_caller_and_the_cli_the_same_families(stack):
    from admin_api import admin

    r = admin(stack, "GET", "metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE s3gw_requests_total counter" in r.text
    assert requests.get(f"{stack.http_url}/admin/metrics", timeout=10).status_code == 403
    # The CLI on the gateway host reads the same files (and counts nothing itself).
    r = subprocess.run([str(s3gw_bin()), "metrics", "--config", str(stack.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert requests_by_op_status(r.stdout)["CreateBucket", "200"] >= 1, r.stdout[:2000]


ODD_PATHS = ["/metrics", "/metrics/", "//metrics", "/%6Detrics", "/./metrics", "/metrics?x", "/METRICS"]

SIGNED_SCRAPES = [("/metrics", {"Authorization": "x"}), ("/metrics?X-Amz-Signature=x", {}),
                  ("/metrics?Signature=x&AWSAccessKeyId=y", {}), ("/%6Detrics?x-amz-signature=x", {})]


def assert_no_metrics_leak(port: int) -> None:
    """From an address off the allow list: no spelling of /metrics gets the metrics text."""
    for path in ODD_PATHS:
        for method in ("GET", "HEAD"):
            r = requests.request(method, f"http://127.0.0.1:{port}{path}", timeout=10)
            assert r.status_code >= 400 and "s3gw_" not in r.text and "# TYPE" not in r.text, (path, method,
                                                                                              r.status_code, r.text[:300])
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 403, r.text
    # A signed request passes nginx (it could be a virtual-hosted `metrics` key); the gateway
    # refuses a signed path-style /metrics, whoever asks.
    for path, headers in SIGNED_SCRAPES:
        r = requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)
        assert r.status_code == 403 and "s3gw_" not in r.text, (path, headers, r.status_code, r.text[:300])


def assert_virtual_hosted_metrics_key_round_trips(port: int, access_key: str, secret_key: str) -> None:
    """A virtual-hosted object named `metrics` at a bucket's root is an S3 object like any other,
    whoever asks (nginx must not mistake it for the scrape path)."""
    vh = boto3.client("s3", endpoint_url=f"http://{VH_DOMAIN}:{port}", aws_access_key_id=access_key,
                      aws_secret_access_key=secret_key, region_name=REGION,
                      config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}))
    bucket = new_bucket_name("vh-metrics")
    vh.create_bucket(Bucket=bucket)
    body = os.urandom(300_000)
    vh.put_object(Bucket=bucket, Key="metrics", Body=body)
    assert vh.get_object(Bucket=bucket, Key="metrics")["Body"].read() == body
    # Streamed (chunked, no Content-Length): only `location /`'s settings let that through.
    vh.upload_fileobj(io.BytesIO(body[::-1]), bucket, "metrics")
    assert vh.get_object(Bucket=bucket, Key="metrics")["Body"].read() == body[::-1]
    url = vh.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "metrics"})
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == body[::-1], r.text[:300]


def test_metrics_refused_to_addresses_off_the_allow_list(stack, local_dns):
    # In nginx: an nginx whose allow list leaves 127.0.0.1 out, in front of the same gateway
    # (which allows 127.0.0.1: only nginx refuses here).
    prefix = Path(tempfile.mkdtemp(prefix="s3gw-nginx-deny-"))
    proc = None
    try:
        proc, port, _ = start_nginx(prefix, stack.socket, stack.tmp / "tls", what="nginx denying /metrics",
                                    metrics_allow="10.0.0.0/8")
        assert_no_metrics_leak(port)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        assert_virtual_hosted_metrics_key_round_trips(port, stack.access_key, stack.secret_key)
    finally:
        stop_process(proc)
        shutil.rmtree(prefix, ignore_errors=True)
    # In the gateway: [metrics] allow leaves 127.0.0.1 out while nginx lets it through.
    other = Stack("metrics-deny", workers=1, extra='\n[metrics]\nallow = ["10.0.0.0/8", "fd00::/8"]\n')
    try:
        other.start()
        assert_no_metrics_leak(other.http_port)
        r = requests.get(f"{other.http_url}/readyz", timeout=10)
        assert r.status_code == 200, r.text
        assert_virtual_hosted_metrics_key_round_trips(other.http_port, other.access_key, other.secret_key)
    finally:
        other.stop()
        other.cleanup()


def test_health_and_readiness_follow_the_zones(stack):
    s3 = s3_client(stack)
    bucket = new_bucket_name("private-name")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="customer/secret-key.txt", Body=b"customer data")
    r = requests.get(f"{stack.http_url}/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    r = requests.get(f"{stack.http_url}/readyz", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "metadata": "ok",
                        "countries": {"se": {"zones": 1, "healthy": 1}, "fi": {"zones": 1, "healthy": 1}}}

    # Finland's only zone stops taking writes (its temp directory is a file now): after three
    # failed probes (health_interval = 1) it is down, and the gateway is not ready.
    tmp = stack.tmp / "zones" / "fi-1" / "tmp"
    tmp.rename(tmp.with_name("tmp.away"))
    tmp.write_text("not a directory")
    try:
        def not_ready():
            r = requests.get(f"{stack.http_url}/readyz", timeout=10)
            if r.status_code != 503:
                raise NotYet(f"{r.status_code} {r.text}")
            return [r]  # a 503 Response is falsy

        [r] = wait_until(not_ready, 30, "/readyz to answer 503", detail=stack.log_tail)
        body = r.json()
        assert body["status"] == "not ready" and body["metadata"] == "ok"
        assert body["countries"]["fi"] == {"zones": 1, "healthy": 0}
        assert body["problems"] == ["no healthy zone in fi"]
        assert r.headers["Content-Type"] == "application/json"
        text = scrape(stack)
        assert samples(text, "s3gw_zone_up")[frozenset({("zone", "fi-1"), ("country", "fi")})] == 0
        assert samples(text, "s3gw_zone_up")[frozenset({("zone", "local-1"), ("country", "se")})] == 1
        assert samples(text, "s3gw_zone_errors_total").get(frozenset({("zone", "fi-1")}), 0) >= 3
        for path in ("/healthz", "/readyz"):
            body = requests.get(f"{stack.http_url}{path}", timeout=10).text
            for secret in (bucket, "customer", "secret-key", stack.access_key, stack.secret_key, str(stack.tmp)):
                assert secret not in body, (path, body)
    finally:
        tmp.unlink()
        tmp.with_name("tmp.away").rename(tmp)

    def ready():
        r = requests.get(f"{stack.http_url}/readyz", timeout=10)
        if r.status_code != 200:
            raise NotYet(f"{r.status_code} {r.text}")
        return True

    wait_until(ready, 30, "/readyz to answer 200 once the zone is back", detail=stack.log_tail)


def test_a_reload_turning_metrics_on_reaches_the_supervisor_too():
    """[metrics] enabled changed by SIGHUP: the new workers count, and so does the supervisor
    (worker restarts), which read the setting once at start before."""
    gw = Stack("metrics-reload", workers=1, extra="\n[metrics]\nenabled = false\n")
    try:
        gw.start()
        assert requests.get(f"{gw.http_url}/metrics", timeout=10).status_code == 404
        before = set(gw.worker_pids())
        gw.config.write_text(gw.config.read_text().replace("enabled = false", "enabled = true"))
        os.kill(gw.gateway_pid, signal.SIGHUP)
        wait_until(lambda: (lambda now: now and not (now & before))(set(gw.worker_pids())), 60,
                   "new workers to replace the old ones", detail=gw.log_tail)
        assert requests.get(f"{gw.http_url}/metrics", timeout=10).status_code == 200
        victim = gw.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)

        def restart_counted():
            pids = gw.worker_pids()
            if victim in pids or not pids:
                raise NotYet(f"workers {pids}")
            text = requests.get(f"{gw.http_url}/metrics", timeout=10).text
            restarts = samples(text, "s3gw_worker_restarts_total").get(frozenset(), 0)
            if restarts != 1:
                raise NotYet(f"s3gw_worker_restarts_total {restarts}")
            return True

        wait_until(restart_counted, 30, "the supervisor to count the restart", detail=gw.log_tail)
    finally:
        gw.stop()
        gw.cleanup()

