"""Two gateway hosts on one metadata store and the same zones, behind one nginx upstream
(docs/HOSTS.md). Each host is its own `s3gw serve` (supervisor, workers, agent) with its own state
directory and socket; they share the metadata store (a SQLite file here; PostgreSQL with
S3GW_E2E_METADATA=postgres), a filesystem zone both see and a moto provider zone reached through a
counting proxy. What a user checks:

- a second host that lacks the installation's files refuses to start rather than mint its own;
- a write through one host is read through the other at once (each host addressed directly);
- a config change rolled out host by host with SIGHUP while requests keep succeeding;
- a mixed load through the upstream, one host's process group SIGKILLed mid-way: every
  acknowledged object is there with its bytes, no replica is written to the provider twice, and
  the replication jobs the dead host held are finished by the other once their lease ran out.
"""

import hashlib
import http.client
import http.server
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from admin_api import admin
from conftest import (
    Moto,
    NotYet,
    TEST_ACCESS_KEY,
    children_of,
    new_bucket_name,
    pid_alive,
    run_script,
    s3_client,
    s3gw_bin,
    start_nginx,
    stop_process,
    tail,
    wait_until,
    SCRIPTS,
)

LEASE = 5  # [replication] lease, seconds: the least the config allows
INSTALLATION_FILES = ("installation-secret", "master-key", "audit-ed25519.key")


def shared_metadata(shared: Path) -> str:
    """The `[metadata]` table every host uses, made once per cluster: a SQLite file beside the
    zones, or with S3GW_E2E_METADATA=postgres a fresh database on the suite's PostgreSQL server
    (conftest.postgres_database)."""
    if os.environ.get("S3GW_E2E_METADATA") == "postgres":
        import conftest

        make = getattr(conftest, "postgres_database", None)
        if make is None:
            pytest.skip("S3GW_E2E_METADATA=postgres, but conftest has no postgres_database() here")
        return f'[metadata]\nkind = "postgres"\nurl = "{make()}"\n'
    return f'[metadata]\nkind = "sqlite"\npath = "{shared}/metadata.sqlite"\n'


class CountingProxy:
    """An HTTP proxy in front of moto that records every write that reached the provider (method,
    path, MD5 of the body, status) and can slow writes down, so a host is killed while its
    replicators are inside a copy."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.delay = 0.0
        self.writes: list[tuple[str, str, str, int]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def relay(self):
                data = self.body()
                if self.command == "PUT" and proxy.delay:
                    time.sleep(proxy.delay)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("transfer-encoding", "connection", "content-length", "expect")}
                c = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                try:
                    c.request(self.command, self.path, body=data, headers=headers)
                    r = c.getresponse()
                    answer = r.read()
                    status, answer_headers = r.status, r.getheaders()
                finally:
                    c.close()
                if self.command in ("PUT", "POST"):
                    with proxy.lock:
                        proxy.writes.append((self.command, self.path, hashlib.md5(data).hexdigest(), status))
                self.send_response(status)
                for k, v in answer_headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)  # the host may be dead by now: the write happened all the same

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A host killed mid-request leaves its connection half-way: not the proxy's error.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def object_puts(self) -> Counter:
        """MD5 → how many whole-object PUTs with those bytes the provider accepted."""
        with self.lock:
            return Counter(md5 for method, path, md5, status in self.writes
                           if method == "PUT" and status == 200 and "?" not in path and path.count("/") > 1)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Host:
    """One gateway host: `s3gw serve` with its own state directory, socket and config, on the
    shared store and zones. Started in its own process group (killed as a whole)."""

    def __init__(self, root: Path, name: str, shared: Path, metadata: str, proxy_port: int, secret_key: str):
        self.name = name
        self.dir = root / name
        self.state_dir = self.dir / "state"
        self.socket = self.dir / "run" / "s3gw.sock"
        self.config = self.dir / "s3gw.toml"
        self.log = self.dir / "s3gw.log"
        self.shared, self.metadata, self.proxy_port = shared, metadata, proxy_port
        self.access_key, self.secret_key = TEST_ACCESS_KEY, secret_key
        self.proc: subprocess.Popen | None = None
        self.http_port = 0
        self.log_level = "debug"
        self.replica_count = 2  # copies of every object ([replication] replica_count)
        for d in (self.state_dir, self.socket.parent):
            d.mkdir(parents=True, exist_ok=True)

    def write_config(self):
        self.config.write_text(f"""# written by Tests/e2e/test_multihost.py
[server]
socket = "{self.socket}"
workers = 2
threads = 8
state_dir = "{self.state_dir}"
host_id = "{self.name}"
log_level = "{self.log_level}"

{self.metadata}
[storage]
default_zone = "local-1"
health_interval = 1

[replication]
replica_count = {self.replica_count}
workers = 2
lease = {LEASE}
retry_base = 1
failover = "manual"
scrub_per_hour = 0
orphan_interval = 0

[[zones]]
name = "local-1"
country = "se"
region = "se-sto"
kind = "filesystem"
path = "{self.shared}/zones/local-1"

[[zones]]
name = "remote-1"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:{self.proxy_port}"
access_key = "moto"
secret_key = "moto-secret"
response_timeout = 60
""")

    def spawn(self, **extra_env: str) -> subprocess.Popen:
        self.write_config()
        env = {k: v for k, v in os.environ.items() if not k.startswith("S3GW_")}
        env.update(S3GW_ACCESS_KEY=self.access_key, S3GW_SECRET_KEY=self.secret_key)
        env.update(extra_env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(s3gw_bin()), "serve", "--config", str(self.config)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        return self.proc

    def wait_serving(self, timeout: float = 60):
        def serving():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.log_tail()}")
            return self.socket.exists() and len(self.workers()) >= 2

        wait_until(serving, timeout, f"{self.name} to serve", detail=self.log_tail)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def workers(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def log_tail(self) -> str:
        return f"--- {self.name} log ---\n{tail(self.log, 40)}"

    def kill_group(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is None:
            return
        kids = self.workers()
        stop_process(self.proc, 30)
        for pid in kids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="s3gw-hosts-"))
    shared = root / "shared"
    (shared / "zones" / "local-1").mkdir(parents=True)
    moto = Moto("moto-hosts")
    proxy = CountingProxy(moto.port)
    secret = "multihost-" + os.urandom(12).hex()
    metadata = shared_metadata(shared)
    hosts = [Host(root, f"host-{i}", shared, metadata, proxy.port, secret) for i in (1, 2)]
    nginxes = []
    try:
        run_script(SCRIPTS / "dev-cert.sh", root / "tls")
        hosts[0].spawn()
        hosts[0].wait_serving()
        # One nginx in front of both (the upstream), one in front of each host alone.
        for what, sockets in (("upstream", [h.socket for h in hosts]),
                              ("host-1", [hosts[0].socket]), ("host-2", [hosts[1].socket])):
            proc, port, _ = start_nginx(root / f"nginx-{what}", sockets, root / "tls", what=f"nginx {what}")
            nginxes.append((what, proc, port))
        yield {"root": root, "hosts": hosts, "proxy": proxy, "moto": moto,
               "ports": {what: port for what, _, port in nginxes},
               "new_host": lambda name: Host(root, name, shared, metadata, proxy.port, secret)}
    finally:
        for _, proc, _ in nginxes:
            stop_process(proc, 10)
        for h in hosts:
            h.stop()
        proxy.stop()
        moto.cleanup()
        if os.environ.get("S3GW_E2E_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


class Endpoint:
    """What s3_client needs to address one nginx."""

    def __init__(self, port: int, host: Host):
        self.http_port, self.access_key, self.secret_key, self.ca_file = port, host.access_key, host.secret_key, None

    def url(self, scheme):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def http_url(self):
        return self.url("http")


def client(cluster, what: str, **config):
    return s3_client(Endpoint(cluster["ports"][what], cluster["hosts"][0]), **config)


def both_hosts(cluster):
    """Both hosts serving, whichever tests ran before (one may have killed host 1; host 2 joins
    with copies of host 1's installation files the first time)."""
    h1, h2 = cluster["hosts"]
    if not h1.running():
        h1.spawn()
        h1.wait_serving()
    if not h2.running():
        for name in INSTALLATION_FILES:
            if not (h2.state_dir / name).exists():
                shutil.copy2(h1.state_dir / name, h2.state_dir / name)
        h2.spawn()
        h2.wait_serving()
    return h1, h2


def test_a_joining_host_brings_the_installations_files(cluster):
    """A new host's first start on host 1's store, without host 1's files: refused (it would
    name every backend bucket differently and re-seal the root secret); with another
    installation secret: refused; with another root key: refused; with copies of the files and
    the installation's root key: it serves."""
    h1 = cluster["hosts"][0]
    if not h1.running():
        h1.spawn()
        h1.wait_serving()
    h2 = cluster["new_host"]("host-join")
    try:
        joins(h1, h2)
    finally:
        h2.stop()
    # The refused start changed nothing: the installation's root key still signs.
    client(cluster, "host-1").list_buckets()


def joins(h1: Host, h2: Host):
    h2.spawn()
    assert h2.proc.wait(timeout=60) != 0
    log = h2.log.read_text()
    assert "belongs to an installation" in log and "copy installation-secret" in log, h2.log_tail()
    assert not (h2.state_dir / "master-key").exists(), "a joining host minted its own master key"
    assert not (h2.state_dir / "installation-secret").exists()

    (h2.state_dir / "installation-secret").write_text(os.urandom(32).hex() + "\n")
    os.chmod(h2.state_dir / "installation-secret", 0o600)
    for name in ("master-key", "audit-ed25519.key"):
        shutil.copy2(h1.state_dir / name, h2.state_dir / name)
    h2.spawn()
    assert h2.proc.wait(timeout=60) != 0
    assert "installation-secret is not the installation's" in h2.log.read_text(), h2.log_tail()

    for name in INSTALLATION_FILES:
        shutil.copy2(h1.state_dir / name, h2.state_dir / name)
    # Another root key in its environment would replace root for every host: refused.
    h2.spawn(S3GW_SECRET_KEY="another-" + os.urandom(8).hex())
    assert h2.proc.wait(timeout=60) != 0
    assert "would replace root for every host" in h2.log.read_text(), h2.log_tail()
    assert not (h2.state_dir / "host-id").exists(), "a refused first start must stay a first start"

    h2.spawn()
    h2.wait_serving()
    assert (h2.state_dir / "host-id").exists()


def test_a_write_on_one_host_is_read_on_the_other_at_once(cluster):
    both_hosts(cluster)
    one, two = client(cluster, "host-1"), client(cluster, "host-2")
    bucket = new_bucket_name("raw")
    one.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    two.head_bucket(Bucket=bucket)
    for i in range(20):
        writer, reader = (one, two) if i % 2 == 0 else (two, one)
        key, body = f"k{i % 5}", os.urandom(1000 + i)
        etag = writer.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        got = reader.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body and got["ETag"] == etag, f"round {i}: stale read on the other host"
        assert key in [o["Key"] for o in reader.list_objects_v2(Bucket=bucket).get("Contents", [])]
    writer.delete_object(Bucket=bucket, Key="k0")
    with pytest.raises(ClientError) as e:
        reader.head_object(Bucket=bucket, Key="k0")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # A multipart upload begun on one host, its parts sent to either, completed on the other.
    up = one.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    etags = [(one if n == 1 else two).upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=n,
                                                  Body=parts[n - 1])["ETag"] for n in (1, 2)]
    two.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": t} for n, t in zip((1, 2), etags)]})
    assert one.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(parts)


def test_each_host_shows_under_its_own_id(cluster):
    """Both hosts' agents and workers beat into the one store, each under its host_id, and
    either host lists them all."""
    both_hosts(cluster)
    for what in ("host-1", "host-2"):
        endpoint = Endpoint(cluster["ports"][what], cluster["hosts"][0])
        for role, least in (("agents", 1), ("workers", 2)):
            def listed():
                r = admin(endpoint, "GET", role)
                assert r.status_code == 200, r.text
                hosts = Counter(p["host"] for p in r.json()["items"] if p["alive"])
                if not all(hosts[h] >= least for h in ("host-1", "host-2")):
                    raise NotYet(f"{role} by host: {dict(hosts)}")
                return hosts

            wait_until(listed, 30, f"both hosts' {role} in the list {what} answers")


def keep_requesting(cluster, bucket: str, stop: threading.Event, results: list):
    # A reload may fail a request with 502 (docs/HOSTS.md, "Changing the configuration"); the
    # client retries it, as every SDK does: what must not happen is a failure that outlasts retries.
    s3 = client(cluster, "upstream", retries={"max_attempts": 3, "mode": "standard"})
    n = 0
    while not stop.is_set():
        key, body = f"steady-{threading.get_ident()}-{n}", os.urandom(512)
        n += 1
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            results.append(s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body)
        except (ClientError, BotoCoreError) as e:
            results.append(e)


def test_a_config_change_rolls_out_host_by_host_with_sighup(cluster):
    both_hosts(cluster)
    s3 = client(cluster, "upstream")
    bucket = new_bucket_name("roll")
    s3.create_bucket(Bucket=bucket)
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=keep_requesting, args=(cluster, bucket, stop, results)) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for h in cluster["hosts"]:
            # Its workers and its agent, all replaced by the reload.
            before = set(h.workers())
            assert len(before) >= 3, f"{h.name}: {before}"
            reloads = h.log.read_text().count("reloaded configuration")
            h.log_level = "debug" if h.log_level == "info" else "info"
            h.write_config()
            h.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: h.log.read_text().count("reloaded configuration") > reloads, 60,
                       f"{h.name} to reload", detail=h.log_tail)
            # The new generation serves and the old one is gone.
            wait_until(lambda: before.isdisjoint(h.workers()) and len(h.workers()) >= 2, 60,
                       f"{h.name}'s old workers to be replaced", detail=h.log_tail)
            # A keepalive connection the old workers closed may have failed one request with 502
            # (nginx does not resend it; the client's retry does) and taken this host out for its
            # fail_timeout (2 s, render-nginx.sh): the next host reloads once this one is back in
            # the upstream (docs/HOSTS.md).
            time.sleep(3)
            # The change took effect: the new generation logs (or not) each request at debug.
            mark = h.log.stat().st_size
            one = client(cluster, h.name)
            for _ in range(3):
                one.list_buckets()
            with open(h.log, "rb") as f:
                f.seek(mark)
                debug_lines = [line for line in f.read().decode(errors="replace").splitlines()
                               if " debug " in line and "GET / 200" in line]
            assert bool(debug_lines) == (h.log_level == "debug"), \
                f"{h.name} at log_level {h.log_level} after the reload: {debug_lines[:3]}\n{h.log_tail()}"
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    failures = [r for r in results if r is not True]
    assert len(results) > 20 and not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:3]}"


def job_list(cluster) -> list[dict]:
    r = admin(Endpoint(cluster["ports"]["upstream"], cluster["hosts"][0]), "GET", "replication/jobs?limit=1000")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def zone_checked_at(cluster, zone: str) -> float:
    r = admin(Endpoint(cluster["ports"]["host-2"], cluster["hosts"][0]), "GET", "zones")
    assert r.status_code == 200, r.text
    z = next(z for z in r.json()["items"] if z["name"] == zone)
    return iso_seconds(z["checked_at"]) if z.get("checked_at") else 0.0


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_killing_a_host_under_load_loses_nothing_acknowledged(cluster):
    h1, h2 = both_hosts(cluster)
    proxy = cluster["proxy"]
    s3 = client(cluster, "upstream", retries={"max_attempts": 3, "mode": "standard"})
    bucket = new_bucket_name("kill")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    # Each copy to the provider takes a while: the killed host is inside some when it dies.
    proxy.delay = 0.5
    acked: dict[str, bytes] = {}  # key → bytes of every acknowledged write still current
    deleted: set[str] = set()  # keys whose DELETE was acknowledged
    # Keys whose DELETE was sent but not acknowledged (cut off by the kill): it may or may not
    # have committed, so neither the bytes nor their absence is checked.
    uncertain: set[str] = set()
    bad_reads: list[str] = []  # read back other bytes than acknowledged (asserted after the join)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list = []

    def load(worker: int):
        c = client(cluster, "upstream")
        rng = random.Random(worker)
        n = 0
        while not stop.is_set():
            n += 1
            key = f"w{worker}/o{n}"
            try:
                op = rng.random()
                if op < 0.1:
                    parts = [os.urandom(5 * 1024 * 1024), os.urandom(rng.randint(1, 4096))]
                    up = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
                    tags = [c.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i + 1,
                                          Body=p)["ETag"] for i, p in enumerate(parts)]
                    c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={
                        "Parts": [{"PartNumber": i + 1, "ETag": t} for i, t in enumerate(tags)]})
                    with lock:
                        acked[key] = b"".join(parts)
                else:
                    body = os.urandom(rng.randint(1, 64 * 1024))
                    c.put_object(Bucket=bucket, Key=key, Body=body)
                    with lock:
                        acked[key] = body
                    if op < 0.3:
                        if c.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
                            bad_reads.append(key)
                    elif op < 0.4:
                        with lock:
                            del acked[key]
                            uncertain.add(key)
                        c.delete_object(Bucket=bucket, Key=key)
                        with lock:
                            uncertain.discard(key)
                            deleted.add(key)
            except (ClientError, BotoCoreError) as e:
                errors.append(e)  # not acknowledged: whatever happened to that key is not checked

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acked) >= 80, 120, "80 acknowledged writes before the kill")
        dead_jobs = wait_until(lambda: [j for j in job_list(cluster)
                                        if j["state"] == "running" and j["lease_owner"].startswith("host-1:")],
                               30, "host 1's agent to hold replication jobs")
        h1.kill_group()
        killed_wall = time.time()
        # host 1's claims as they were when it died (its agent renews nothing any more).
        held = {j["id"]: j for j in job_list(cluster)
                if j["state"] == "running" and j["lease_owner"].startswith("host-1:")}
        assert held, "host 1 held no job when it was killed"
        proxy.delay = 0  # the kill landed inside copies; the rest may go at full speed
        # Until its lease ends (host 2's agents keep asking), each dead host's job stays its own:
        # looked at a second before the first of them ends (lease_until is to the second).
        first_end = min(iso_seconds(j["lease_until"]) for j in held.values())
        time.sleep(max(0.0, first_end - 1.5 - time.time()))
        now = time.time()
        still = {j["id"] for j in job_list(cluster) if j["lease_owner"].startswith("host-1:")}
        due_held = {i for i, j in held.items() if iso_seconds(j["lease_until"]) > now + 0.5}
        assert due_held <= still, f"host 1's jobs were taken before their lease ended: {due_held - still}"
        acked_at_kill = len(acked)
        wait_until(lambda: len(acked) >= acked_at_kill + 80, 120, "80 more acknowledged writes after the kill")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    load_seconds = time.monotonic() - started

    # …and then host 2 finishes every one of them.
    def queue_empty():
        left = job_list(cluster)
        if left:
            raise NotYet(f"{len(left)} jobs left, e.g. {left[0]}")
        return True

    wait_until(queue_empty, 120, "every replication job to finish on host 2", detail=h2.log_tail)
    assert not bad_reads, f"read back other bytes than acknowledged: {bad_reads[:5]}"

    # The dead host's agent leases pass to host 2 as they end: zone health (a lease of twice
    # health_interval + 30 s) goes on being checked after that, whoever held it at the kill.
    health_lease = 2 * 1 + 30
    wait_until(lambda: zone_checked_at(cluster, "local-1") > killed_wall + health_lease, health_lease + 30,
               "zone health to be checked after the dead host's health lease ended", detail=h2.log_tail)

    # Every acknowledged object: its bytes, from both copies (the provider one is checked by
    # its replication status COMPLETED and by the bytes the provider was sent).
    s3 = client(cluster, "upstream")
    for key, body in sorted(acked.items()):
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body, f"{key}: wrong bytes"
        assert got.get("ReplicationStatus") == "COMPLETED", f"{key}: {got.get('ReplicationStatus')}"
    for key in deleted:
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key=key)

    # No copy written twice: each acknowledged object's bytes reached the provider once, except
    # that a copy the dead host had under way may have landed just before it died and been
    # made again by host 2 (at most one extra each, for the jobs it held).
    puts = proxy.object_puts()
    md5s = {hashlib.md5(b).hexdigest(): k for k, b in acked.items()}
    missing = [k for m, k in md5s.items() if puts[m] == 0]
    assert not missing, f"never written to the provider: {missing[:5]}"
    held_keys = {f"{j['key']}" for j in held.values()}
    twice = {md5s.get(m, m): n for m, n in puts.items() if n > 1}
    assert all(k in held_keys and n == 2 for k, n in twice.items()), \
        f"copies written twice that the dead host did not hold: {twice} (held {held_keys})"
    print(f"\nmultihost: {len(acked)} objects acknowledged, {len(deleted)} deleted ({len(uncertain)} deletes uncertain), {len(errors)} requests "
          f"failed around the kill, host 1 held {len(held)} jobs, {len(twice)} copies made again, "
          f"load ran {load_seconds:.1f}s")
