"""Replication throughput with two agents against one (docs/HOSTS.md).

Gateway hosts as Tests/e2e/test_multihost.py runs them: one metadata store (a SQLite file; with
S3GW_E2E_METADATA=postgres the suite's PostgreSQL), a filesystem zone in Sweden (the primary) and
a moto_server provider in Finland. Each run writes BENCH_AGENTS_OBJECTS objects of
BENCH_AGENTS_SIZE bytes with one copy, then `s3gw buckets replicas BUCKET 2` queues a copy of each
to the provider: the figure is the time from that command to an empty queue, with host 1's agent
alone, then with host 2 started beside it (its agent claims from the same queue), then host 2
stopped again: the runs alternate, so the provider's and the store's growth over the bench
weighs on both. Each agent runs BENCH_AGENTS_WORKERS replicator threads. Medians over
BENCH_RUNS runs of each, as a table.

Env: S3GW_BIN (default .build/release/s3gw), BENCH_RUNS (3), BENCH_AGENTS_OBJECTS (300),
BENCH_AGENTS_SIZE (16384), BENCH_AGENTS_WORKERS (2).
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "release" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from conftest import Moto, run_script, s3_client, s3gw_bin, start_nginx, stop_process, SCRIPTS  # noqa: E402
from replication import cli, wait_drained  # noqa: E402
from test_multihost import INSTALLATION_FILES, Endpoint, Host, shared_metadata  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
OBJECTS = int(os.environ.get("BENCH_AGENTS_OBJECTS", "300"))
SIZE = int(os.environ.get("BENCH_AGENTS_SIZE", str(16 * 1024)))
WORKERS = int(os.environ.get("BENCH_AGENTS_WORKERS", "2"))


class BenchHost(Host):
    """A test host with the bench's replicator threads, quiet, and one copy unless told."""

    def write_config(self):
        super().write_config()
        text = self.config.read_text()
        # The [replication] workers line, as Host writes it: a changed Host must not leave the
        # bench measuring its default without saying so.
        assert "\nworkers = 2\nlease" in text, "BenchHost: [replication] workers line not found"
        self.config.write_text(text.replace("\nworkers = 2\nlease", f"\nworkers = {WORKERS}\nlease"))


def one_run(hosts, s3) -> float:
    """Seconds from queueing a copy of every object to an empty queue."""
    bucket = f"agents-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    body = os.urandom(SIZE)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"o{i:05d}", Body=body), range(OBJECTS)))
    t0 = time.monotonic()
    out = cli(hosts[0], "buckets", "replicas", bucket, "2")
    assert f"{OBJECTS} object(s) queued" in out, out
    return wait_drained(hosts[0]) - t0


def main() -> int:
    binary = s3gw_bin()
    if not os.access(binary, os.X_OK):
        print(f"bench: {binary} not found; run `swift build -c release`", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="s3gw-bench-agents-"))
    shared = root / "shared"
    (shared / "zones" / "local-1").mkdir(parents=True)
    moto = Moto("bench-agents-fi")
    metadata = shared_metadata(shared)
    hosts = [BenchHost(root, f"host-{i}", shared, metadata, moto.port, "bench-" + os.urandom(12).hex())
             for i in (1, 2)]
    hosts[1].secret_key = hosts[0].secret_key
    nginx = None
    try:
        for h in hosts:
            h.log_level = "warning"
            h.replica_count = 1
        run_script(SCRIPTS / "dev-cert.sh", root / "tls")
        hosts[0].spawn()
        hosts[0].wait_serving()
        for name in INSTALLATION_FILES:
            shutil.copy2(hosts[0].state_dir / name, hosts[1].state_dir / name)
        nginx, port, _ = start_nginx(root / "nginx", [hosts[0].socket], root / "tls", what="nginx bench-agents")
        s3 = s3_client(Endpoint(port, hosts[0]))
        one, two = [], []
        for _ in range(RUNS):
            one.append(one_run(hosts, s3))
            hosts[1].spawn()
            hosts[1].wait_serving()
            two.append(one_run(hosts, s3))
            hosts[1].stop()  # a clean stop: its agent gives its leases up at once
    finally:
        stop_process(nginx, 10)
        for h in hosts:
            h.stop()
        moto.cleanup()
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nreplication with several agents: {OBJECTS} objects of {SIZE} B to a moto provider, "
          f"{WORKERS} replicator threads per agent, median of {RUNS} runs ({binary.parent.name} build)")
    print(f"{'agents':>8} {'seconds':>9} {'objects/s':>10} {'speed-up':>9}")
    base = statistics.median(one)
    for agents, runs in ((1, one), (2, two)):
        m = statistics.median(runs)
        print(f"{agents:>8} {m:>9.2f} {OBJECTS / m:>10.1f} {base / m:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
