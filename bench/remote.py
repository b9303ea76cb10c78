"""Remote-zone benchmark: what a provider zone costs, on loopback.

For 4 KiB and 1 MiB objects (wrk, BENCH_REMOTE_CONNECTIONS concurrent connections):
  * gateway -> moto_server zone   vs  client -> the same moto_server directly  (ratio)
  * gateway -> filesystem zone    vs  gateway -> moto_server zone               (ratio)
moto_server is a Python stand-in for a provider, 40-100x slower than the gateway: these figures
show the gateway's overhead on a remote path, never a provider's speed. Medians of BENCH_RUNS.
"""

import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))
os.environ.setdefault("S3GW_BIN", str(HERE.parent / ".build" / "release" / "s3gw"))
os.environ.setdefault("BENCH_DURATION", os.environ.get("BENCH_REMOTE_DURATION", "5"))
os.environ.setdefault("BENCH_CONNECTIONS", os.environ.get("BENCH_REMOTE_CONNECTIONS", "8"))

import bench  # noqa: E402
from conftest import Moto, Stack, s3_client  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def median_rps(url, body=None):
    return statistics.median(bench.wrk(url, body)[0] for _ in range(RUNS))


def main() -> int:
    moto = Moto()
    zone = f"""
[[zones]]
name = "remote-1"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:{moto.port}"
access_key = "moto"
secret_key = "moto-secret"
"""
    stack = Stack("bench-remote", workers=0, threads=32, log_level="warning", extra=zone)
    rows = []
    try:
        stack.start()
        s3 = s3_client(stack)
        s3.create_bucket(Bucket="on-fs")
        s3.create_bucket(Bucket="on-remote", CreateBucketConfiguration={"LocationConstraint": "fi"})
        direct = moto.client()
        direct.create_bucket(Bucket="direct")
        for label, size in [("4 KiB", 4096), ("1 MiB", 1 << 20)]:
            body = os.urandom(size)
            body_file = stack.tmp / f"body-{size}"
            body_file.write_bytes(body)
            for b in ("on-fs", "on-remote"):
                s3.put_object(Bucket=b, Key="obj", Body=body)
            direct.put_object(Bucket="direct", Key="obj", Body=body)

            def url(b, op, key="obj"):
                return s3.generate_presigned_url(op, Params={"Bucket": b, "Key": key}, ExpiresIn=3600)

            moto_url = f"http://127.0.0.1:{moto.port}/direct/obj"
            for op, method, body_arg in [("GET", "get_object", None), ("PUT", "put_object", body_file)]:
                fs = median_rps(url("on-fs", method, "obj" if op == "GET" else "put"), body_arg)
                remote = median_rps(url("on-remote", method, "obj" if op == "GET" else "put"), body_arg)
                plain = median_rps(moto_url if op == "GET" else moto_url + "-put", body_arg)
                rows.append((f"{op} {label}", fs, remote, plain))
                print(f"  {op} {label}: fs zone {fs:,.0f}/s, remote zone {remote:,.0f}/s, moto direct {plain:,.0f}/s",
                      flush=True)
    finally:
        stack.stop()
        stack.cleanup()
        moto.cleanup()
    print()
    print(f"remote zones — req/s, medians of {RUNS}; wrk {bench.CONNECTIONS} connections, {bench.DURATION}s")
    print(f"{'workload':<10} {'gw->fs':>10} {'gw->moto':>10} {'moto direct':>12} {'gw->moto / direct':>18} "
          f"{'gw->moto / gw->fs':>18}")
    for name, fs, remote, plain in rows:
        print(f"{name:<10} {fs:>10,.0f} {remote:>10,.0f} {plain:>12,.0f} {remote / plain:>17.2f}x {remote / fs:>17.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
