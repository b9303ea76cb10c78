"""SIGHUP never takes the gateway down: new workers replace the old ones only once they serve.
A configuration the workers cannot start with, or an upgraded binary that does not start, is
reported and the old workers keep answering."""

import os
import shutil
import signal
import stat

from conftest import Stack, new_bucket_name, s3_client, s3gw_bin, wait_until


def reload_and_expect_failure(gw: Stack, before: set[int]) -> None:
    failures_before = gw.gateway_log.read_text(errors="replace").count("reload failed")
    os.kill(gw.gateway_pid, signal.SIGHUP)
    wait_until(lambda: gw.gateway_log.read_text(errors="replace").count("reload failed") > failures_before,
               60, "the supervisor to report the failed reload", detail=gw.log_tail)
    assert gw.gateway.poll() is None, gw.log_tail()
    assert set(gw.worker_pids()) == before, f"old workers replaced: {before} -> {gw.worker_pids()}"


def test_reload_refuses_workers_that_cannot_start_and_keeps_serving(tmp_path, monkeypatch):
    # The gateway runs from its own copy of the binary, so the test can "upgrade" it.
    binary = tmp_path / "s3gw"
    shutil.copy2(s3gw_bin(), binary)
    monkeypatch.setenv("S3GW_BIN", str(binary))
    gw = Stack("reload", workers=2).start()
    try:
        s3 = s3_client(gw)
        bucket = new_bucket_name("reload")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"still here")
        before = set(gw.worker_pids())
        assert len(before) == 2

        # 1. A configuration the supervisor accepts but no worker can start with: the zone's
        #    directory sits under a regular file.
        good_config = gw.config.read_text()
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("x")
        gw.config.write_text(good_config.replace(f'path = "{gw.tmp}/zones/local-1"', f'path = "{blocker}/zone"'))
        assert gw.config.read_text() != good_config
        reload_and_expect_failure(gw, before)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"still here"
        gw.config.write_text(good_config)

        # 2. An upgrade gone wrong: the file at the binary's path no longer starts.
        broken = tmp_path / "s3gw.broken"
        broken.write_text("#!/bin/sh\nexit 1\n")
        broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
        os.rename(binary.with_name("s3gw"), tmp_path / "s3gw.good")
        os.rename(broken, binary)
        reload_and_expect_failure(gw, before)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"still here"
        s3.put_object(Bucket=bucket, Key="k2", Body=b"writes too")

        # 3. The good binary back: the next reload replaces every worker.
        os.rename(tmp_path / "s3gw.good", binary)
        os.kill(gw.gateway_pid, signal.SIGHUP)
        wait_until(lambda: (lambda now: now and not (now & before))(set(gw.worker_pids())), 60,
                   "new workers to replace the old ones", detail=gw.log_tail)
        assert s3.get_object(Bucket=bucket, Key="k2")["Body"].read() == b"writes too"
        for key in ("k", "k2"):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
    finally:
        gw.stop()
        gw.cleanup()
