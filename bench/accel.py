"""Accelerated GETs: the same gateway with `[server] accel_redirect` on (nginx sends the zone's
file, X-Accel-Redirect) and off (the worker streams every byte through FastCGI), against nginx
serving the same bytes statically — in one run, the three taken in turn within every round.

Workloads: GET of objects of BENCH_ACCEL_SIZES KiB (default 4,64,256,512,1024; wrk replaying one
presigned URL), GET of a BENCH_BIG_MIB (1024) MiB object and of a BENCH_RANGE_MIB (100) MiB range
from its middle (curl, one stream). The "on" gateway redirects every size (`accel_min_size = 0`),
so the table shows where a redirect starts to pay, which is what `accel_min_size`'s default
(512 KiB) rests on. Prints req/s or MB/s per target and the ratios to nginx. Env as bench.py
(S3GW_BIN, BENCH_RUNS, BENCH_DURATION, BENCH_CONNECTIONS); BENCH_ACCEL=0 in run.sh skips it.
"""

import os
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402  (sets S3GW_BIN's default and the e2e harness's path)
from conftest import Stack, s3_client, stop_process  # noqa: E402

BUCKET = "accel"


def main() -> int:
    if (dirs := bench.workspace("accel")) is None:
        return 1
    work, data, prefix = dirs
    stacks = {
        "accel on": Stack("accel-on", workers=0, log_level="info", server_extra="accel_min_size = 0"),
        "accel off": Stack("accel-off", workers=0, log_level="info", server_extra="accel_redirect = false"),
    }
    baseline = None
    rows = []
    try:
        baseline, port = bench.start_baseline(prefix, data)
        clients = {}
        for name, stack in stacks.items():
            stack.start()
            clients[name] = s3_client(stack)
            clients[name].create_bucket(Bucket=BUCKET)

        def urls(key: str) -> dict[str, str]:
            out = {n: c.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
                   for n, c in clients.items()}
            out["nginx"] = f"http://127.0.0.1:{port}/{key}"
            return out

        def put_everywhere(key: str, path: Path) -> None:
            """One PUT per gateway (boto3's upload_file would make a big object multipart: several
            blobs, which stream)."""
            shutil.copyfile(path, data / key)
            for c in clients.values():
                url = c.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
                bench.curl_rate(["-T", str(path), url], "speed_upload")

        sizes = [int(k) for k in os.environ.get("BENCH_ACCEL_SIZES", "4,64,256,512,1024").split(",") if k]
        for label, size in [(f"GET {k} KiB" if k < 1024 else f"GET {k >> 10} MiB", k << 10) for k in sizes]:
            path = work / f"obj-{size}"
            path.write_bytes(os.urandom(size))
            put_everywhere(path.name, path)
            targets = urls(path.name)
            runs: dict[str, list[float]] = {n: [] for n in targets}
            bad = 0
            for _ in range(bench.RUNS):
                for n, url in targets.items():
                    rps, errors = bench.wrk(url)
                    runs[n].append(rps)
                    bad += errors
            rows.append((label, {n: statistics.median(r) for n, r in runs.items()}, "req/s", bad))
            print(f"  {label}: " + ", ".join(f"{n} {v:,.0f} req/s" for n, v in rows[-1][1].items()), flush=True)

        big = work / "big.bin"
        with open(big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(bench.BIG_MIB):
                f.write(chunk)
        put_everywhere("big.bin", big)
        big.unlink()
        span = min(bench.RANGE_MIB, bench.BIG_MIB) << 20
        start = ((bench.BIG_MIB << 20) - span) // 2
        targets = urls("big.bin")
        for label, extra in [(f"GET {bench.BIG_MIB} MiB", []),
                             (f"GET {span >> 20} MiB range", ["-r", f"{start}-{start + span - 1}"])]:
            runs = {n: [] for n in targets}
            for _ in range(bench.RUNS):
                for n, url in targets.items():
                    runs[n].append(bench.curl_rate(extra + [url], "speed_download"))
            rows.append((label, {n: statistics.median(r) for n, r in runs.items()}, "MB/s", 0))
            print(f"  {label}: " + ", ".join(f"{n} {bench.human_rate(v)}" for n, v in rows[-1][1].items()), flush=True)
    finally:
        for stack in stacks.values():
            stack.stop()
            if os.environ.get("BENCH_KEEP") != "1":
                stack.cleanup()
        stop_process(baseline)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"accelerated GETs — medians of {bench.RUNS} runs; wrk: {bench.CONNECTIONS} connections, "
          f"{bench.DURATION}s; {os.cpu_count()} cores")
    print(f"{'workload':<20} {'accel on':>16} {'accel off':>16} {'nginx alone':>16} {'on/nginx':>9} "
          f"{'off/nginx':>9} {'on/off':>7}")
    for label, m, unit, bad in rows:
        def fmt(v):
            return f"{v:,.0f} req/s" if unit == "req/s" else bench.human_rate(v)
        on, off, ng = m["accel on"], m["accel off"], m["nginx"]
        print(f"{label:<20} {fmt(on):>16} {fmt(off):>16} {fmt(ng):>16} {on / ng:>8.2f}x {off / ng:>8.2f}x "
              f"{on / off:>6.2f}x" + (f"  non-2xx: {bad}" if bad else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
