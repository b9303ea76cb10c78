"""Continuous metadata backup (docs/METADATA.md, "Backup and restore (SQLite)"): how late a write
reaches the backup bucket, and what a snapshot and a restore of a store of N objects cost.

  * lag: objects PUT by BENCH_THREADS threads through nginx; after each of BENCH_PROBES probes
    (a PUT acknowledged), the time until `s3gw metadata backups` shows the bucket restorable to a
    time after it (wal_interval BENCH_WAL_INTERVAL).
  * snapshot: the store grown to BENCH_OBJECTS object rows (copies of the PUT rows, written with
    SQL while the gateway is stopped), the gateway started again: the new generation's snapshot
    size and time from the agent's log.
  * restore: `s3gw metadata restore --to` of that generation, timed.

Env: S3GW_BIN (default .build/debug/s3gw), BENCH_OBJECTS (100000), BENCH_PUTS (2000),
BENCH_THREADS (8), BENCH_PROBES (10), BENCH_WAL_INTERVAL (1).
"""

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "debug" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from conftest import Stack, filesystem_zone, s3_client, s3gw_bin  # noqa: E402
from test_metadata_backup import restorable_until  # noqa: E402

OBJECTS = int(os.environ.get("BENCH_OBJECTS", "100000"))
PUTS = int(os.environ.get("BENCH_PUTS", "2000"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
PROBES = int(os.environ.get("BENCH_PROBES", "10"))
WAL_INTERVAL = float(os.environ.get("BENCH_WAL_INTERVAL", "1"))


def main() -> None:
    s = Stack("bench-backup", log_level="info")
    s.extra = filesystem_zone("backup", "se", "se-sto", s.tmp / "zones" / "backup") + f"""
[backup]
zone = "backup"
bucket = "s3gw-metadata-backups"
wal_interval = {WAL_INTERVAL}
"""
    os.environ.setdefault("S3GW_MASTER_KEY", os.urandom(32).hex())
    s.start()
    try:
        c = s3_client(s)
        c.create_bucket(Bucket="bench")
        stop = threading.Event()

        def load(t: int) -> None:
            lc = s3_client(s)
            for i in range(PUTS // THREADS):
                if stop.is_set():
                    return
                lc.put_object(Bucket="bench", Key=f"t{t}/{i:06d}", Body=b"x" * 100)

        threads = [threading.Thread(target=load, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        lags = []
        for p in range(PROBES):
            c.put_object(Bucket="bench", Key=f"probe/{p}", Body=b"p")
            acked = time.time()
            while restorable_until(s) <= acked:
                time.sleep(0.05)
            lags.append(time.time() - acked)
        stop.set()
        for t in threads:
            t.join()
        lags.sort()
        print(f"lag (PUT acknowledged -> restorable), wal_interval {WAL_INTERVAL}s, {THREADS} writers: "
              f"median {lags[len(lags) // 2]:.2f}s, max {lags[-1]:.2f}s over {PROBES} probes")

        s.stop()
        db = sqlite3.connect(s.state_dir / "metadata.sqlite")
        db.execute("PRAGMA wal_autocheckpoint=0")
        have = db.execute("SELECT count(*) FROM objects").fetchone()[0]
        cols = [r[1] for r in db.execute("PRAGMA table_info(objects)")]
        n = 0
        while have < OBJECTS:
            n += 1
            select = ", ".join(f"key || '-copy{n}'" if col == "key" else col for col in cols)
            db.execute(f"INSERT INTO objects ({', '.join(cols)}) SELECT {select} FROM objects "
                       f"WHERE key NOT LIKE '%-copy%' LIMIT {OBJECTS - have}")
            db.commit()
            have = db.execute("SELECT count(*) FROM objects").fetchone()[0]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        size = (s.state_dir / "metadata.sqlite").stat().st_size
        before = s.gateway_log.read_text().count("snapshot of")
        s.start()
        deadline = time.time() + 300
        while s.gateway_log.read_text().count("snapshot of") == before and time.time() < deadline:
            time.sleep(0.2)
        line = [x for x in s.gateway_log.read_text().splitlines() if "snapshot of" in x][-1]
        m = re.search(r"snapshot of (\d+) bytes in ([\d.]+) s", line)
        print(f"snapshot: {have} objects, store {size / 1e6:.1f} MB: {int(m[1]) / 1e6:.1f} MB in {m[2]} s")
        time.sleep(WAL_INTERVAL * 2)
        out = s.tmp / "restored.sqlite"
        t0 = time.time()
        r = subprocess.run([str(s3gw_bin()), "metadata", "restore", "-c", str(s.config), "--zone", "backup",
                            "--to", str(out)], capture_output=True, text=True)
        took = time.time() - t0
        assert r.returncode == 0, r.stderr
        count = sqlite3.connect(out).execute("SELECT count(*) FROM objects").fetchone()[0]
        print(f"restore: {count} objects in {took:.2f} s ({r.stdout.strip()})")
    finally:
        s.stop()
        s.cleanup()


if __name__ == "__main__":
    main()
