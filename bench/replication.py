"""Replication benchmark: what the agent's copies cost and how reads fare when a primary hangs.

One gateway (release build) with two filesystem zones in Sweden (local-1, local-2) and a
moto_server provider in Finland (fi-hel-1, bounds of BOUND s):
  * copy throughput local-1 -> local-2: BENCH_REPL_SMALL 4 KiB objects (objects/s) and
    BENCH_REPL_BIG_COUNT 64 MiB objects (MB/s) stored with one copy, then `s3gw buckets replicas
    BUCKET 2`: from the command to an empty queue;
  * lag from an acknowledged PUT (16 KiB, replica-count 2, local-1 -> local-2) to its replica
    COMPLETED (HEAD polled), under a steady BENCH_REPL_RATE PUT/s for BENCH_REPL_SECONDS: median
    and p90;
  * GET of an object whose primary is the provider and whose replica is local-1: provider healthy;
    provider stopped (SIGSTOP) but not yet marked down (the bound is paid, then the replica
    serves); provider marked down (`s3gw zones --probe` three times: skipped at once).
Every figure is the median over BENCH_RUNS runs (fresh buckets each run).

Env: S3GW_BIN (default .build/release/s3gw), BENCH_RUNS (3), BENCH_REPL_WORKERS (2 replicator
threads), BENCH_REPL_SMALL (1000), BENCH_REPL_BIG_COUNT (4), BENCH_REPL_RATE (20),
BENCH_REPL_SECONDS (10).
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "release" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from conftest import Moto, Stack, s3_client, s3gw_bin  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WORKERS = int(os.environ.get("BENCH_REPL_WORKERS", "2"))
SMALL = int(os.environ.get("BENCH_REPL_SMALL", "1000"))
BIG_COUNT = int(os.environ.get("BENCH_REPL_BIG_COUNT", "4"))
RATE = float(os.environ.get("BENCH_REPL_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_REPL_SECONDS", "10"))
BOUND = 2
MIB = 1024 * 1024


def cli(stack, *args):
    r = subprocess.run([str(s3gw_bin()), *args, "--config", str(stack.config)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"s3gw {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout


def queue(stack):
    return json.loads(cli(stack, "replication", "status", "--json"))["queue"]


def wait_drained(stack, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = queue(stack)
        if q["dead"]:
            raise RuntimeError(f"dead replication jobs: {q}\n{stack.log_tail()}")
        if q["pending"] == 0 and q["running"] == 0:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"the replication queue did not drain in {timeout}s\n{stack.log_tail()}")


def new_bucket(s3, prefix, constraint):
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint})
    return name


def copy_throughput(stack, s3, count, size):
    """Seconds from `buckets replicas B 2` to an empty queue, for `count` objects of `size`."""
    bucket = new_bucket(s3, "copy", "se")
    body = os.urandom(size)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"o{i:05d}", Body=body), range(count)))
    t0 = time.monotonic()
    out = cli(stack, "buckets", "replicas", bucket, "2")
    assert f"{count} object(s) queued" in out, out
    seconds = wait_drained(stack) - t0
    objects = json.loads(cli(stack, "replication", "status", bucket, "--json"))["objects"]
    assert len(objects) == count and all(o["status"] == "COMPLETED" for o in objects)
    cli(stack, "buckets", "replicas", bucket, "1")
    return seconds


def replication_lag(stack, s3):
    """Per acknowledged PUT: seconds until HEAD shows its replica COMPLETED (median, p90)."""
    bucket = new_bucket(s3, "lag", "se")
    cli(stack, "buckets", "replicas", bucket, "2")
    head_client = s3_client(stack)  # the poller's own connection pool
    acked, lags, lock, done = {}, [], threading.Lock(), threading.Event()

    def poll():
        while not done.is_set() or acked:
            with lock:
                keys = list(acked)
            if not keys:
                time.sleep(0.002)
            for key in keys:
                h = head_client.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
                if h.get("x-amz-replication-status") == "COMPLETED":
                    now = time.monotonic()
                    with lock:
                        lags.append(now - acked.pop(key))

    poller = threading.Thread(target=poll)
    poller.start()
    body = os.urandom(16 * 1024)
    start = time.monotonic()
    try:
        for i in range(int(RATE * SECONDS)):
            time.sleep(max(0.0, start + i / RATE - time.monotonic()))
            s3.put_object(Bucket=bucket, Key=f"k{i:05d}", Body=body)
            with lock:
                acked[f"k{i:05d}"] = time.monotonic()
    finally:
        done.set()
        poller.join(120)
    lags.sort()
    return statistics.median(lags), lags[int(0.9 * (len(lags) - 1))]


def timed_get(s3, bucket, key):
    t0 = time.monotonic()
    got = s3.get_object(Bucket=bucket, Key=key)
    got["Body"].read()
    return time.monotonic() - t0, got["ResponseMetadata"]["HTTPHeaders"]["x-s3gw-zone"]


def zone_state(stack, zone):
    for line in cli(stack, "zones").splitlines():
        if line.split()[:1] == [zone]:
            return line.split()[5]
    return None


def read_fallback(stack, s3, moto):
    """GET latencies (median of 3 GETs each): primary healthy, hung, hung and marked down."""
    bucket = new_bucket(s3, "fallback", "fi,se")
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(64 * 1024), Tagging="replica-count=2")
    wait_drained(stack)

    def gets(zone):
        samples = []
        for _ in range(3):
            seconds, served = timed_get(s3, bucket, "k")
            assert served == zone, f"served by {served}, expected {zone}"
            samples.append(seconds)
        return statistics.median(samples)

    healthy = gets("fi-hel-1")
    os.killpg(moto.proc.pid, signal.SIGSTOP)
    try:
        hung = gets("local-1")
        while zone_state(stack, "fi-hel-1") != "down":
            cli(stack, "zones", "--probe")
        time.sleep(2.5)  # the workers' view of zone health is at most 2 s old
        down = gets("local-1")
    finally:
        os.killpg(moto.proc.pid, signal.SIGCONT)
    cli(stack, "zones", "--probe")
    time.sleep(2.5)
    return healthy, hung, down


def main() -> int:
    binary = s3gw_bin()
    if not os.access(binary, os.X_OK):
        print(f"bench: {binary} not found; run `swift build -c release`", file=sys.stderr)
        return 1
    moto = Moto("bench-repl-fi")
    stack = Stack("bench-repl", workers=2, threads=32, log_level="warning",
                  storage_extra="health_interval = 3600")  # health changes only when the bench probes
    stack.extra = f"""
[[zones]]
name = "local-2"
country = "se"
region = "se-got"
kind = "filesystem"
path = "{stack.tmp}/zones/local-2"

[[zones]]
name = "fi-hel-1"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:{moto.port}"
access_key = "moto"
secret_key = "moto-secret"
connect_timeout = {BOUND}
response_timeout = {BOUND}
stall_timeout = {BOUND}

[replication]
workers = {WORKERS}
"""
    small, big, lag50, lag90, healthy, hung, down = ([] for _ in range(7))
    try:
        stack.start()
        s3 = s3_client(stack, read_timeout=60)
        for run in range(1, RUNS + 1):
            seconds = copy_throughput(stack, s3, SMALL, 4096)
            small.append(SMALL / seconds)
            seconds = copy_throughput(stack, s3, BIG_COUNT, 64 * MIB)
            big.append(BIG_COUNT * 64 * MIB / 1e6 / seconds)
            m, p = replication_lag(stack, s3)
            lag50.append(m)
            lag90.append(p)
            h, x, d = read_fallback(stack, s3, moto)
            healthy.append(h)
            hung.append(x)
            down.append(d)
            print(f"  run {run}: {small[-1]:,.0f} objects/s, {big[-1]:,.0f} MB/s, lag median {m * 1000:,.0f} ms "
                  f"p90 {p * 1000:,.0f} ms, GET {h * 1000:,.0f} / {x * 1000:,.0f} / {d * 1000:,.0f} ms", flush=True)
    finally:
        try:
            os.killpg(moto.proc.pid, signal.SIGCONT)
        except (ProcessLookupError, AttributeError):
            pass
        stack.stop()
        stack.cleanup()
        moto.cleanup()

    med = statistics.median
    print()
    print(f"replication — medians of {RUNS} runs; {WORKERS} replicator threads; {binary.name} at {binary.parent}")
    rows = [
        (f"copy local-1 -> local-2, {SMALL} x 4 KiB", f"{med(small):,.0f} objects/s"),
        (f"copy local-1 -> local-2, {BIG_COUNT} x 64 MiB", f"{med(big):,.0f} MB/s"),
        (f"lag PUT ack -> COMPLETED, {RATE:g} PUT/s x 16 KiB", f"median {med(lag50) * 1000:,.0f} ms, "
                                                              f"p90 {med(lag90) * 1000:,.0f} ms"),
        ("GET, primary (provider) healthy", f"{med(healthy) * 1000:,.0f} ms"),
        (f"GET, primary hung, not marked down (bound {BOUND} s)", f"{med(hung) * 1000:,.0f} ms"),
        ("GET, primary hung and marked down", f"{med(down) * 1000:,.0f} ms"),
    ]
    for name, value in rows:
        print(f"{name:<52} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
